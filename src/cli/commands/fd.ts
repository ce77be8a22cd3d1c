// Fréchet distance and KID between real slices and synthetic ones on a frozen feature network:
// DINOv2's class token when --dinov2 weights are given (reported as FD-DINOv2), otherwise the trained
// UNet's encoder bottleneck, global-average-pooled (FD-UNet-encoder). The name printed is always the
// network that was used. Embedding is the library's (embedAll, as the GAN snapshots measure).
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import {
  AcdcDataset,
  checkDinov2Weights,
  DataError,
  embedAll,
  ensureHdf5Ready,
  fdAndKidWith,
  ganFeatureNetwork,
  init,
  readSliceFile,
  readUNetCheckpoint,
  resizeFiltered,
  tensor,
  UserError,
  type SliceSample,
} from '../../index.js';
import { NON_NEGATIVE_INT, POSITIVE_INT, UNET_SIZE } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';

const isSlice = (f: string) => ['.png', '.h5'].includes(extname(f).toLowerCase());

/** The .png/.h5 slice files directly in `dir`, sorted; a missing folder is a DataError. */
function sliceFilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter(isSlice).sort();
  } catch {
    throw new DataError(dir, 'folder not found', 'Give a folder of .png/.h5 slices (bench/generate.js writes one) or an ACDC directory');
  }
}

export default defineCommand({
  name: 'fd',
  usage: 'node bench/fd.js --real DIR --synthetic DIR (--dinov2 FILE | --unet FILE) [options]',
  description: `
FD and KID between real slices (an ACDC directory's labeled training slices, or a folder of .png/.h5) and
synthetic ones, at the synthetic resolution (the reals are area-resampled to it first), on DINOv2
(FD-DINOv2) or a trained UNet's encoder (FD-UNet-encoder) — never Inception, and named so.`,
  options: {
    real: { type: 'string', metavar: 'dir', required: true, help: 'ACDC directory (its labeled training slices) or a folder of .png/.h5 slices' },
    labeled: { ...POSITIVE_INT, default: 7, help: 'labeled patients when --real is an ACDC directory' },
    synthetic: { type: 'string', metavar: 'dir', required: true, help: 'folder of synthetic .png/.h5 slices' },
    dinov2: { type: 'string', metavar: 'file', help: 'DINOv2 weights (.pth or .safetensors): FD-DINOv2' },
    unet: { type: 'string', metavar: 'file', help: 'trained UNet weights (safetensors): FD-UNet-encoder' },
    size: { ...UNET_SIZE, default: 128, help: 'UNet encoder input size (square; DINOv2 always sees 224²)' },
    batch: { ...POSITIVE_INT, default: 8, help: 'images per forward pass' },
    limit: { ...NON_NEGATIVE_INT, default: 0, help: 'use at most this many images per set (0: all)' },
    subsets: { ...POSITIVE_INT, default: 100, help: 'KID subsets' },
    'subset-size': { ...POSITIVE_INT, min: 2, default: 1000, help: 'KID subset size' },
    json: { type: 'boolean', default: false, help: 'print one JSON object' },
  },
  check(args) {
    if (!args.dinov2 === !args.unet) throw new UsageError('pass the feature network: --dinov2 FILE (FD-DINOv2) or --unet FILE (FD-UNet-encoder), one of the two');
  },
  async run(args) {
    await ensureHdf5Ready();
    const take = (xs: SliceSample[]) => (args.limit > 0 ? xs.slice(0, args.limit) : xs);
    const realFiles = sliceFilesIn(args.real);
    let real: SliceSample[];
    if (realFiles.length && !statSync(join(args.real, realFiles[0])).isDirectory()) real = take(realFiles.map((f) => readSliceFile(join(args.real, f))));
    else {
      const data = await AcdcDataset.open({ root: args.real, labeled: { patients: args.labeled } });
      real = take(data.labeledIndices.map((i) => data.getSlice(i)));
    }
    const synthetic = take(sliceFilesIn(args.synthetic).map((f) => readSliceFile(join(args.synthetic, f))));
    if (real.length < 2 || synthetic.length < 2) {
      throw new UserError(`too few slices: ${real.length} real in ${args.real}, ${synthetic.length} synthetic in ${args.synthetic}; FD and KID need at least 2 of each`);
    }
    // Both sets are compared at the synthetic resolution: the reals are area-resampled to it first (as
    // the generator's training images were), then both go through the feature network's own resizing —
    // otherwise FD would also measure the resolution gap, not only the generator.
    const R = synthetic[0].height;
    const odd = synthetic.find((s) => s.height !== R || s.width !== R);
    if (odd) throw new DataError(join(args.synthetic, odd.name), `is ${odd.width}×${odd.height}, the first synthetic slice ${R}×${R}`, 'Compare one generator run at a time (one resolution per folder)');
    if (args.dinov2) checkDinov2Weights(args.dinov2);
    else readUNetCheckpoint(args.unet!);

    await init();
    const measure = ganFeatureNetwork({ dinov2: args.dinov2, unet: args.unet, unetSize: args.size })!;
    try {
      // Images in [−1, 1], as embedAll (and the generator) expects.
      const batches = (slices: SliceSample[]) => (from: number, to: number) => {
        const pixels = new Float32Array((to - from) * R * R);
        slices.slice(from, to).forEach((s, b) => {
          const img = resizeFiltered(s.image, s.height, s.width, R, R);
          for (let i = 0; i < img.length; i++) pixels[b * R * R + i] = img[i] * 2 - 1;
        });
        return tensor(pixels, [to - from, 1, R, R]);
      };
      const realFeatures = await embedAll(measure.features, batches(real), real.length, args.batch);
      const synFeatures = await embedAll(measure.features, batches(synthetic), synthetic.length, args.batch);
      const dim = realFeatures.dim;
      const { fd, kid } = fdAndKidWith({ subsets: args.subsets, subsetSize: args['subset-size'] })(realFeatures.data, synFeatures.data, dim);
      const name = measure.features.name;
      const result = { metric: name, fd, kid, real: real.length, synthetic: synthetic.length, dims: dim, resolution: R };
      if (args.json) console.log(JSON.stringify(result));
      else console.log(`${name}: ${fd.toFixed(4)}   KID: ${kid!.toExponential(4)}   (${real.length} real, ${synthetic.length} synthetic at ${R}², ${dim}-d features)`);
    } finally {
      measure.dispose();
    }
  },
});
