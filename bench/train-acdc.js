#!/usr/bin/env node
// Train the UNet on ACDC (SSL4MIS HDF5 layout) or, when no dataset is given or found, on the embedded
// procedural cardiac phantom. `node bench/train-acdc.js --help` lists the options.
import { join } from 'node:path';
import * as E from '../dist/index.js';

const usage = 'usage: node bench/train-acdc.js [--data DIR] [--method supervised] [options]';
const spec = {
  method: { type: 'string', default: 'supervised', help: 'supervised (bcp and sra-seg: see docs/RESULTS.md for status)' },
  data: { type: 'string', help: 'ACDC directory in the SSL4MIS layout (train_slices.list, val.list, data/); without it: the embedded phantom' },
  labeled: { type: 'string', default: '7', help: "labeled patients (3 = '5%', 7 = '10%'), or N slices as 'Ns' (e.g. 136s)" },
  iterations: { type: 'number', help: 'training iterations (default 30000 on ACDC, 200 on the phantom)' },
  batch: { type: 'number', help: 'labeled slices per batch (default 12 on ACDC, 8 on the phantom)' },
  lr: { type: 'number', default: 0.01, help: 'SGD learning rate (constant, as published)' },
  momentum: { type: 'number', default: 0.9, help: 'SGD momentum' },
  'weight-decay': { type: 'number', default: 1e-4, help: 'SGD weight decay' },
  seed: { type: 'number', default: 1337, help: 'seed for weights, dropout, sampling and augmentation' },
  size: { type: 'number', help: 'training image size, slices zoomed to size×size (nearest); default 256 on ACDC, 64 on the phantom' },
  'val-every': { type: 'number', help: 'iterations between validations (default 200 on ACDC, 50 on the phantom)' },
  'val-volumes': { type: 'number', help: 'validate on the first N volumes only (default: all)' },
  'log-every': { type: 'number', default: 10, help: 'iterations between loss read-backs' },
  out: { type: 'string', help: 'run folder (default runs/<method>-<data>-<time>)' },
  resume: { type: 'boolean', default: false, help: 'continue the run in --out exactly where its last checkpoint left it' },
};

let args;
try {
  args = E.parseArgs(process.argv.slice(2), spec, usage);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
if (args.method !== 'supervised') {
  console.error(`--method ${args.method}: not implemented yet (only 'supervised' is); see docs/RESULTS.md.`);
  process.exit(2);
}
if (args.resume && !args.out) {
  console.error('--resume needs --out <run folder>');
  process.exit(2);
}

const root = args.data ?? null;
const onPhantom = !root;
const labeled = /s$/.test(args.labeled) ? { slices: Number(args.labeled.slice(0, -1)) } : { patients: Number(args.labeled) };
const size = args.size ?? (onPhantom ? 64 : 256);

await E.init();
let data;
try {
  data = onPhantom ? new E.PhantomDataset({ seed: args.seed, size, trainSlices: 120, valVolumes: 4 }) : await E.AcdcDataset.open({ root, labeled });
} catch (e) {
  console.error(e.message);
  await E.shutdown();
  process.exit(2);
}
if (onPhantom) {
  console.error('data: the embedded procedural cardiac phantom (no --data given): a demonstration, not ACDC.');
  const found = E.findAcdcRoot();
  if (found) console.error(`      ACDC is available at ${found}: pass --data ${found} to train on it.`);
} else console.error(`data: ACDC at ${root}`);

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const out = args.out ?? join('runs', `${args.method}-${onPhantom ? 'phantom' : 'acdc'}-${stamp}`);
const t0 = performance.now();
const result = await E.trainSupervised(data, {
  iterations: args.iterations ?? (onPhantom ? 200 : 30000),
  batch: args.batch ?? (onPhantom ? 8 : 12),
  lr: args.lr,
  momentum: args.momentum,
  weightDecay: args['weight-decay'],
  seed: args.seed,
  size,
  valEvery: args['val-every'] ?? (onPhantom ? 50 : 200),
  valLimit: args['val-volumes'],
  logEvery: args['log-every'],
  out,
  resume: args.resume,
});
const minutes = (performance.now() - t0) / 60000;
console.log(`done in ${minutes.toFixed(1)} min · best validation Dice ${result.bestDice.toFixed(4)} · run folder ${out}`);
await E.shutdown();
