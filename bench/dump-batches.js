#!/usr/bin/env node
// Write the first N batches the supervised ACDC trainer would see (same sampler, same augmentation
// generator, same prepareBatch as src/train/supervised.ts), so the PyTorch twin's batches can be
// compared with them byte for byte:
//   node bench/dump-batches.js --data ../shared/data/ACDC --labeled 7 --size 128 --batch 8 --count 4 --out runs/dump-engine
//   /usr/bin/python3 bench/pytorch_train_acdc.py --data ../shared/data/ACDC --labeled 7 --size 128 --batch 8 --dump-batches 4 --out runs/dump-torch
//   cmp runs/dump-engine/images.f32 runs/dump-torch/images.f32 && cmp runs/dump-engine/labels.i32 runs/dump-torch/labels.i32
// Files: images.f32 (N·B·S·S float32 LE), labels.i32 (N·B·S·S int32 LE), batches.json (slice
// indices, names and augmentation draws per batch). Needs no GPU.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const usage = 'usage: node bench/dump-batches.js --data DIR [--labeled 7] [--size 256] [--batch 12] [--seed 1337] [--count 4] --out DIR';
const args = parseArgsOrExit(process.argv.slice(2), {
  data: { type: 'string', required: true, help: 'ACDC directory in the SSL4MIS layout' },
  labeled: { type: 'string', default: '7', help: "labeled patients, or N slices as 'Ns'" },
  size: { type: 'number', integer: true, min: 16, multipleOf: 16, default: 256, help: 'training image size' },
  batch: { type: 'number', integer: true, min: 1, default: 12, help: 'labeled slices per batch' },
  seed: { type: 'number', integer: true, default: 1337, help: 'training seed' },
  count: { type: 'number', integer: true, min: 1, default: 4, help: 'batches to write' },
  out: { type: 'string', required: true, help: 'folder for the dump' },
}, usage);

const labeled = /s$/.test(args.labeled) ? { slices: Number(args.labeled.slice(0, -1)) } : { patients: Number(args.labeled) };
const data = await E.AcdcDataset.open({ root: args.data, labeled });
const { sampler, dataRng } = E.supervisedStreams(data, args.batch, args.seed);
const plane = args.size * args.size;
const images = new Float32Array(args.count * args.batch * plane);
const labels = new Int32Array(args.count * args.batch * plane);
const batches = [];
for (let n = 0; n < args.count; n++) {
  const indices = sampler.next().labeled;
  // drawAugmentation only consumes the generator, so a clone replays the draws prepareBatch makes.
  const probe = dataRng.clone();
  const augmentations = indices.map(() => E.drawAugmentation(probe));
  const b = E.prepareBatch(data, indices, args.size, dataRng);
  images.set(b.images, n * args.batch * plane);
  labels.set(b.labels, n * args.batch * plane);
  batches.push({ indices, names: indices.map((i) => data.trainSlices[i]), augmentations });
}
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, 'images.f32'), new Uint8Array(images.buffer));
writeFileSync(join(args.out, 'labels.i32'), new Uint8Array(labels.buffer));
writeFileSync(join(args.out, 'batches.json'), JSON.stringify({ seed: args.seed, size: args.size, batch: args.batch, labeled: args.labeled, batches }, null, 1));
console.log(`${args.count} batches of ${args.batch} at ${args.size}×${args.size} → ${args.out}`);
