// The paper's Fig. 1 for a trained UNet: KDE of the decoder's last feature map (mean over channels) at
// up to --pixels correctly predicted pixels of one class, labeled vs unlabeled real ACDC slices.
import {
  AcdcDataset,
  checkUNetConfig,
  correctPixelFeatures,
  init,
  loadUNet,
  readUNetCheckpoint,
  SeededRng,
  UserError,
  writeDomainGapPlot,
  zoomNearest,
} from '../../index.js';
import { POSITIVE_INT, SEED, UNET_SIZE } from '../common-options.js';
import { defineCommand } from '../runner.js';

const CLASS_NAMES = ['background', 'RV', 'Myo', 'LV'];

export default defineCommand({
  name: 'domain-gap',
  usage: 'node bench/domain-gap.js --checkpoint FILE --data DIR [--class 3] [--slices 24] [--out gap.png]',
  description: `
The paper's Fig. 1 for a trained UNet: kernel density of the decoder's last feature map (mean over channels)
at correctly predicted pixels of one class, labeled vs unlabeled ACDC slices of a split.`,
  options: {
    checkpoint: { type: 'string', metavar: 'file', required: true, help: 'UNet weights, 4 classes: .safetensors or a BCP/SSL4MIS .pth' },
    data: { type: 'string', metavar: 'dir', required: true, help: 'ACDC directory (SSL4MIS layout)' },
    labeled: { ...POSITIVE_INT, default: 7, help: 'labeled patients of the split the model was trained on' },
    class: { type: 'number', integer: true, min: 1, max: 3, metavar: 'n', default: 3, help: 'class: 1 RV, 2 Myo, 3 LV' },
    slices: { ...POSITIVE_INT, default: 24, help: 'slices drawn from each pool' },
    pixels: { ...POSITIVE_INT, default: 500, help: 'pixels per pool at most' },
    size: { ...UNET_SIZE, default: 256, help: 'network input size' },
    seed: { ...SEED, default: 1337, help: 'sampling seed' },
    out: { type: 'string', metavar: 'file', default: 'domain-gap.png', help: 'PNG to write' },
  },
  async run(args) {
    const ckpt = readUNetCheckpoint(args.checkpoint);
    const data = await AcdcDataset.open({ root: args.data, labeled: { patients: args.labeled } });
    checkUNetConfig(ckpt, { numClasses: data.numClasses }, 'ACDC');
    if (!data.unlabeledIndices.length) throw new UserError(`--labeled ${args.labeled}: every slice is labeled; there is no unlabeled pool to compare with`);

    await init();
    const model = loadUNet(ckpt);
    try {
      const rng = new SeededRng(args.seed);
      const pick = (pool: readonly number[]) => rng.permutation(pool.length).slice(0, args.slices).map((i) => pool[i]);
      const S = args.size;
      const features = async (indices: number[]) => {
        const out: number[] = [];
        for (let k = 0; k < indices.length; k += 8) {
          // No augmentation: the slices as the network sees them at validation (nearest zoom only).
          const batch = indices.slice(k, k + 8).map((i) => data.getSlice(i));
          const images = new Float32Array(batch.length * S * S);
          const labels = new Int32Array(batch.length * S * S);
          batch.forEach((s, b) => {
            images.set(zoomNearest(s.image, s.height, s.width, S, S), b * S * S);
            labels.set(zoomNearest(s.label, s.height, s.width, S, S), b * S * S);
          });
          out.push(...(await correctPixelFeatures(model, images, labels, [batch.length, 1, S, S], args.class, Infinity, rng)));
        }
        // A uniform sample of all correct pixels of the pool.
        return rng.permutation(out.length).slice(0, args.pixels).map((i) => out[i]);
      };
      const lab = await features(pick(data.labeledIndices));
      const unl = await features(pick(data.unlabeledIndices));
      const name = CLASS_NAMES[args.class];
      if (lab.length < 2 || unl.length < 2) {
        throw new UserError(`${args.checkpoint} predicts ${name} correctly at ${lab.length} labeled and ${unl.length} unlabeled pixel(s) of the ${args.slices} slices drawn; a density needs 2 each: use a trained checkpoint, more --slices, or --size as trained`);
      }
      writeDomainGapPlot(args.out, lab, unl, `correctly predicted ${name} pixels`);
      const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      console.log(`${name}: labeled ${lab.length} px, mean feature ${m(lab).toFixed(4)} · unlabeled ${unl.length} px, mean ${m(unl).toFixed(4)} → ${args.out}`);
    } finally {
      model.dispose();
    }
  },
});
