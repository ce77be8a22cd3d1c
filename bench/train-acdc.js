#!/usr/bin/env node
// Train the UNet on ACDC (SSL4MIS HDF5 layout) or, when no dataset is given or found, on the embedded
// procedural cardiac phantom. `node bench/train-acdc.js --help` lists the options.
import { join } from 'node:path';
import * as E from '../dist/index.js';

const usage = 'usage: node bench/train-acdc.js [--data DIR] [--method supervised] [options]';
const spec = {
  data: { type: 'string', help: 'ACDC directory in the SSL4MIS layout (train_slices.list, val.list, data/); without it: the embedded phantom' },
  unlabeled: { type: 'string', default: 'real', help: "bcp/sra-seg unlabeled pool: 'real' (the other training slices) or a folder of synthetic .h5/.png slices" },
  labeled: { type: 'string', default: '7', help: "labeled patients (3 = '5%', 7 = '10%'), or N slices as 'Ns' (e.g. 136s)" },
  ...E.METHOD_OPTIONS,
  iterations: { type: 'number', help: 'supervised: training iterations; bcp/sra-seg: self-training iterations (default 30000 on ACDC, 200 on the phantom)' },
  'pre-iterations': { type: 'number', help: 'bcp/sra-seg pre-training iterations (default 10000 on ACDC, 100 on the phantom; 0 skips pre-training, with --init)' },
  batch: { type: 'number', help: 'labeled slices per batch (default 12 on ACDC, 8 on the phantom)' },
  size: { type: 'number', help: 'training image size, slices zoomed to size×size (nearest); default 256 on ACDC, 64 on the phantom' },
  'val-every': { type: 'number', help: 'iterations between validations (default 200 on ACDC, 50 on the phantom)' },
  'val-volumes': { type: 'number', help: 'validate on the first N volumes only (default: all)' },
};

let args;
try {
  args = E.parseArgs(process.argv.slice(2), spec, usage);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
const problem = E.methodArgsProblem(args);
if (problem) {
  console.error(problem);
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
  if (args.unlabeled !== 'real') data = await E.WithUnlabeled.open(data, args.unlabeled);
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
// Errors about the user's input (files, options) are printed as one message; SRASEG_DEBUG=1 shows stacks.
process.on('uncaughtException', (e) => {
  console.error(process.env.SRASEG_DEBUG ? e : `error: ${e.message}`);
  process.exit(1);
});
const result = await E.trainWithMethod(data, args, {
  size,
  iterations: args.iterations ?? (onPhantom ? 200 : 30000),
  preIterations: args['pre-iterations'] ?? (onPhantom ? 100 : 10000),
  batch: args.batch ?? (onPhantom ? 8 : 12),
  valEvery: args['val-every'] ?? (onPhantom ? 50 : 200),
  valLimit: args['val-volumes'],
  out,
});
const minutes = (performance.now() - t0) / 60000;
console.log(`done in ${minutes.toFixed(1)} min · best validation Dice ${result.bestDice.toFixed(4)} · run folder ${out}`);
await E.shutdown();
