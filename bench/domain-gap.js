#!/usr/bin/env node
// The paper's Fig. 1 for a trained UNet: KDE of the decoder's last feature map (mean over channels) at
// up to 500 correctly predicted pixels of one class, labeled vs unlabeled real ACDC slices.
// Usage: node bench/domain-gap.js --checkpoint FILE --data DIR [--class 3] [--slices 24] [--out gap.png]
import * as E from '../dist/index.js';

const args = E.parseArgs(process.argv.slice(2), {
  checkpoint: { type: 'string', help: 'UNet weights (.safetensors or a BCP/SSL4MIS .pth)' },
  data: { type: 'string', help: 'ACDC directory (SSL4MIS layout)' },
  labeled: { type: 'number', default: 7, help: 'labeled patients of the split the model was trained on' },
  class: { type: 'number', default: 3, help: 'class (1 RV, 2 Myo, 3 LV)' },
  slices: { type: 'number', default: 24, help: 'slices drawn from each pool' },
  pixels: { type: 'number', default: 500, help: 'pixels per pool at most' },
  size: { type: 'number', default: 256, help: 'network input size' },
  seed: { type: 'number', default: 1337, help: 'sampling seed' },
  out: { type: 'string', default: 'domain-gap.png', help: 'PNG to write' },
}, 'usage: node bench/domain-gap.js --checkpoint FILE --data DIR [options]');
if (!args.checkpoint || !args.data) {
  console.error('--checkpoint and --data are required (see --help)');
  process.exit(2);
}

await E.init();
const data = await E.AcdcDataset.open({ root: args.data, labeled: { patients: args.labeled } });
const model = E.loadUNet(args.checkpoint, { numClasses: 4 });
const rng = new E.SeededRng(args.seed);
const pick = (pool) => rng.permutation(pool.length).slice(0, args.slices).map((i) => pool[i]);
const features = async (indices) => {
  const out = [];
  for (let k = 0; k < indices.length; k += 8) {
    // No augmentation: the slices as the network sees them at validation (nearest zoom only).
    const batch = indices.slice(k, k + 8).map((i) => data.getSlice(i));
    const S = args.size;
    const images = new Float32Array(batch.length * S * S);
    const labels = new Int32Array(batch.length * S * S);
    batch.forEach((s, b) => {
      images.set(E.zoomNearest(s.image, s.height, s.width, S, S), b * S * S);
      labels.set(E.zoomNearest(s.label, s.height, s.width, S, S), b * S * S);
    });
    out.push(...(await E.correctPixelFeatures(model, images, labels, [batch.length, 1, S, S], args.class, Infinity, rng)));
  }
  // A uniform sample of all correct pixels of the pool.
  return rng.permutation(out.length).slice(0, args.pixels).map((i) => out[i]);
};
const lab = await features(pick(data.labeledIndices));
const unl = await features(pick(data.unlabeledIndices));
const name = ['background', 'RV', 'Myo', 'LV'][args.class];
E.writeDomainGapPlot(args.out, lab, unl, `correctly predicted ${name} pixels`);
const m = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`${name}: labeled ${lab.length} px, mean feature ${m(lab).toFixed(4)} · unlabeled ${unl.length} px, mean ${m(unl).toFixed(4)} → ${args.out}`);
model.dispose();
await E.shutdown();
