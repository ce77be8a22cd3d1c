#!/usr/bin/env node
// Train the UNet (2 classes: background, vessel) on a fundus set in the DRIVE or FIVES layout with
// the methods of train-acdc.js: supervised, bcp, sra-seg. Validation scores each held-back image on
// its own at native resolution inside the field of view (src/train/evaluate-fundus.ts).
// `node bench/train-fundus.js --help` lists the options. DIST=dist-x uses another build folder.
import { join } from 'node:path';

const E = await import(new URL(`../${process.env.DIST ?? 'dist'}/index.js`, import.meta.url).href);

const usage = 'usage: node bench/train-fundus.js [--data DIR] [--method supervised|bcp|sra-seg] [options]';
const spec = {
  data: { type: 'string', help: 'fundus set in the DRIVE (training/images, 1st_manual, mask) or FIVES (train/Original, train/Ground truth) layout; default ../shared/data/DRIVE' },
  labeled: { type: 'number', default: 4, help: 'labeled training images (the first ones in numeric order; FIVES 5% = 28, 10% = 56)' },
  validation: { type: 'number', help: 'training images held back for validation, the last ones (default 4 on DRIVE, 80 on FIVES)' },
  unlabeled: { type: 'number', help: 'cap on the unlabeled pool (default: every other training image)' },
  'split-seed': { type: 'number', help: 'shuffle the training images with this seed before splitting (default: numeric order)' },
  'evaluate-on': { type: 'string', default: 'validation', help: "validate on 'validation' (held-back training images) or 'test' (the test part)" },
  channel: { type: 'string', default: 'green', help: 'network input: green (channel) | gray (luma)' },
  size: { type: 'number', default: 256, help: 'training size: images resized to size×size (area/bilinear), masks nearest' },
  ...E.METHOD_OPTIONS,
  iterations: { type: 'number', default: 300, help: 'supervised: training iterations; bcp/sra-seg: self-training iterations' },
  'pre-iterations': { type: 'number', default: 100, help: 'bcp/sra-seg pre-training iterations (0 skips pre-training; use with --init)' },
  batch: { type: 'number', default: 4, help: 'labeled images per batch' },
  'largest-component': { type: 'boolean', default: false, help: 'keep only the largest connected vessel tree in pseudo-labels (the published filter; it drops disconnected vessels)' },
  'val-every': { type: 'number', default: 50, help: 'iterations between validations' },
  out: { type: 'string', help: 'run folder (default runs/<method>-fundus-<time>)' },
};

function fail(message) {
  console.error(message);
  process.exit(2);
}

let args;
try {
  args = E.parseArgs(process.argv.slice(2), spec, usage);
} catch (e) {
  fail(e.message);
}
const problem = E.methodArgsProblem(args);
if (problem) fail(problem);
if (!['green', 'gray'].includes(args.channel)) fail(`--channel ${args.channel}: unknown (green | gray)`);
if (!['validation', 'test'].includes(args['evaluate-on'])) fail(`--evaluate-on ${args['evaluate-on']}: unknown (validation | test)`);
const root = args.data ?? E.findDriveRoot();
if (!root) fail('no fundus data: pass --data <DRIVE or FIVES folder> (or set SRASEG_DRIVE)');

let data;
try {
  data = E.FundusDataset.open({
    root,
    labeled: args.labeled,
    validation: args.validation,
    unlabeled: args.unlabeled,
    size: args.size,
    channel: args.channel,
    splitSeed: args['split-seed'],
    evaluateOn: args['evaluate-on'],
  });
} catch (e) {
  fail(e.message);
}
console.error(`data: ${data.describe()}`);

await E.init();
// Errors about the user's input (files, options) are printed as one message; SRASEG_DEBUG=1 shows stacks.
process.on('uncaughtException', (e) => {
  console.error(process.env.SRASEG_DEBUG ? e : `error: ${e.message}`);
  process.exit(1);
});
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const out = args.out ?? join('runs', `${args.method}-fundus-${stamp}`);
const t0 = performance.now();
const result = await E.trainWithMethod(data, args, {
  size: args.size,
  iterations: args.iterations,
  preIterations: args['pre-iterations'],
  batch: args.batch,
  valEvery: args['val-every'],
  out,
  validate: (model, names) => E.evaluateFundus(model, data, names),
});
const minutes = (performance.now() - t0) / 60000;
console.log(`done in ${minutes.toFixed(1)} min · best validation Dice ${result.bestDice.toFixed(4)} · run folder ${out}`);
await E.shutdown();
