#!/usr/bin/env node
// Fréchet distance and KID between real slices and synthetic ones on a frozen feature network:
// DINOv2's x_norm_clstoken when --dinov2 weights are given (reported as FD-DINOv2), otherwise the
// trained UNet's encoder bottleneck, global-average-pooled (reported as FD-UNet-encoder). The name
// printed is always the network that was used.
// Usage: node bench/fd.js --real <ACDC dir | folder of .png/.h5> --synthetic <folder>
//          (--dinov2 <weights> | --unet <checkpoint.safetensors>) [--size 224] [--json]
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import * as E from '../dist/index.js';

const args = E.parseArgs(process.argv.slice(2), {
  real: { type: 'string', help: 'ACDC directory (its labeled training slices) or a folder of .png/.h5 slices' },
  labeled: { type: 'number', default: 7, help: 'labeled patients when --real is an ACDC directory' },
  synthetic: { type: 'string', help: 'folder of synthetic .png/.h5 slices' },
  dinov2: { type: 'string', help: 'DINOv2 weights (.pth or .safetensors): FD-DINOv2' },
  unet: { type: 'string', help: 'trained UNet weights (safetensors): FD-UNet-encoder' },
  size: { type: 'number', default: 128, help: 'UNet encoder input size (square; DINOv2 always sees 224²)' },
  batch: { type: 'number', default: 8, help: 'images per forward pass' },
  limit: { type: 'number', default: 0, help: 'use at most this many images per set (0: all)' },
  subsets: { type: 'number', default: 100, help: 'KID subsets' },
  'subset-size': { type: 'number', default: 1000, help: 'KID subset size' },
  json: { type: 'boolean', default: false, help: 'print one JSON object' },
}, 'usage: node bench/fd.js --real DIR --synthetic DIR (--dinov2 FILE | --unet FILE) [options]');
if (!args.real || !args.synthetic || (!args.dinov2 && !args.unet)) {
  console.error('--real, --synthetic and one of --dinov2 / --unet are required (see --help)');
  process.exit(2);
}

await E.init();
await E.ensureHdf5Ready();

const isSlice = (f) => ['.png', '.h5'].includes(extname(f).toLowerCase());
function folderSlices(dir) {
  return readdirSync(dir).filter(isSlice).sort().map((f) => E.readSliceFile(join(dir, f)));
}
async function realSlices(dir) {
  const direct = readdirSync(dir).filter(isSlice);
  if (direct.length && !statSync(join(dir, direct[0])).isDirectory()) return folderSlices(dir);
  const data = await E.AcdcDataset.open({ root: dir, labeled: { patients: args.labeled } });
  return data.labeledIndices.map((i) => data.getSlice(i));
}
const take = (xs) => (args.limit > 0 ? xs.slice(0, args.limit) : xs);
const real = take(await realSlices(args.real));
const synthetic = take(folderSlices(args.synthetic));
if (!real.length || !synthetic.length) {
  console.error(`no slices found (${real.length} real in ${args.real}, ${synthetic.length} synthetic in ${args.synthetic})`);
  process.exit(2);
}

// Both sets are compared at the synthetic resolution: the reals are area-resampled to it first (as
// the generator's training images were), then both go through the feature network's own resizing —
// otherwise FD would also measure the resolution gap, not only the generator.
const R = synthetic[0].height;
const measure = E.ganFeatureNetwork({ dinov2: args.dinov2, unet: args.unet, unetSize: args.size });
const name = measure.features.name;

async function features(slices) {
  const out = [];
  for (let k = 0; k < slices.length; k += args.batch) {
    const batch = slices.slice(k, k + args.batch);
    const pixels = new Float32Array(batch.length * R * R);
    batch.forEach((s, b) => pixels.set(E.resizeFiltered(s.image, s.height, s.width, R, R), b * R * R));
    const f = E.noGrad(() => E.tidy(() => measure.features.embed(E.tensor(pixels, [batch.length, 1, R, R]))));
    const values = await f.data();
    f.dispose();
    const d = f.shape[1];
    for (let b = 0; b < batch.length; b++) out.push(Float64Array.from(values.subarray(b * d, (b + 1) * d)));
  }
  return out;
}

const realFeatures = await features(real);
const synFeatures = await features(synthetic);
measure.dispose();
const r = E.featureStats(realFeatures);
const s = E.featureStats(synFeatures);
const fd = E.frechetDistance(s.mu, s.sigma, r.mu, r.sigma);
const kidValue = E.kid(synFeatures, realFeatures, { subsets: args.subsets, subsetSize: args['subset-size'] });
const result = { metric: name, fd, kid: kidValue, real: real.length, synthetic: synthetic.length, dims: r.mu.length, resolution: R };
if (args.json) console.log(JSON.stringify(result));
else console.log(`${name}: ${fd.toFixed(4)}   KID: ${kidValue.toExponential(4)}   (${real.length} real, ${synthetic.length} synthetic at ${R}², ${r.mu.length}-d features)`);
await E.shutdown();
