#!/usr/bin/env node
// Train the UNet on ACDC (SSL4MIS HDF5 layout) or, when no dataset is given or found, on the embedded
// procedural cardiac phantom. `node bench/train-acdc.js --help` lists the options.
import { join } from 'node:path';
import * as E from '../dist/index.js';

const usage = 'usage: node bench/train-acdc.js [--data DIR] [--method supervised] [options]';
const spec = {
  method: { type: 'string', default: 'supervised', help: 'supervised | bcp | sra-seg' },
  data: { type: 'string', help: 'ACDC directory in the SSL4MIS layout (train_slices.list, val.list, data/); without it: the embedded phantom' },
  unlabeled: { type: 'string', default: 'real', help: "bcp/sra-seg unlabeled pool: 'real' (the other training slices) or a folder of synthetic .h5/.png slices" },
  labeled: { type: 'string', default: '7', help: "labeled patients (3 = '5%', 7 = '10%'), or N slices as 'Ns' (e.g. 136s)" },
  iterations: { type: 'number', help: 'supervised: training iterations; bcp/sra-seg: self-training iterations (default 30000 on ACDC, 200 on the phantom)' },
  'pre-iterations': { type: 'number', help: 'bcp/sra-seg pre-training iterations (default 10000 on ACDC, 100 on the phantom; 0 skips pre-training, with --init)' },
  init: { type: 'string', help: 'start the student from these UNet weights (.safetensors, e.g. a supervised run\'s model_best) instead of a random initialisation' },
  batch: { type: 'number', help: 'labeled slices per batch (default 12 on ACDC, 8 on the phantom)' },
  'unlabeled-batch': { type: 'number', help: 'bcp/sra-seg: unlabeled slices per batch (default: as --batch)' },
  ema: { type: 'number', default: 0.99, help: 'bcp/sra-seg: EMA decay of the teacher' },
  'teacher-eval': { type: 'boolean', default: false, help: 'run the teacher in eval mode for pseudo-labels (published: train mode)' },
  'largest-component': { type: 'boolean', default: true, help: 'keep the largest connected component per class in pseudo-labels' },
  'soft-mix': { type: 'boolean', default: true, help: 'sra-seg: smoothed mask, labels blended with the same α (--no-soft-mix for Table 3)' },
  'soft-loss': { type: 'boolean', default: true, help: 'sra-seg: soft Dice + soft CE (--no-soft-loss for Table 3)' },
  sa: { type: 'boolean', default: true, help: 'sra-seg: similarity-alignment loss in self-training (needs --dinov2; --no-sa to train without it)' },
  dinov2: { type: 'string', help: 'DINOv2 weights for SA: torch-hub .pth (e.g. dinov2_vits14_pretrain.pth) or Hugging Face model.safetensors' },
  'sa-mode': { type: 'string', default: 'features', help: "SA: 'features' (UNet bottleneck → learned projection) | 'prediction' (DINOv2 on soft predictions vs one-hot labels) | 'published' (DINOv2 on raw images, no gradient, as the published code)" },
  'sa-lambda': { type: 'number', default: 0.1, help: 'SA weight λ' },
  'vit-size': { type: 'number', default: 224, help: 'side the ViT sees (a multiple of 14)' },
  blend: { type: 'string', default: 'avgpool3', help: 'sra-seg mask smoothing: avgpool3 (paper) | gauss5 | box7 (published code)' },
  'zero-pad': { type: 'boolean', default: false, help: 'sra-seg: smooth with zero padding, blending the image border (as the published code)' },
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
if (!['supervised', 'bcp', 'sra-seg'].includes(args.method)) {
  console.error(`--method ${args.method}: unknown (supervised | bcp | sra-seg)`);
  process.exit(2);
}
if (args.method === 'sra-seg' && args.sa && !args.dinov2) {
  console.error('sra-seg: the SA loss needs DINOv2 weights: pass --dinov2 <file> (nothing is downloaded at run time), or --no-sa.');
  process.exit(2);
}
if (!['features', 'prediction', 'published'].includes(args['sa-mode'])) {
  console.error(`--sa-mode ${args['sa-mode']}: unknown (features | prediction | published)`);
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
const common = {
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
  init: args.init,
};
const batch = args.batch ?? (onPhantom ? 8 : 12);
// Errors about the user's input (files, options) are printed as one message; SRASEG_DEBUG=1 shows stacks.
process.on('uncaughtException', (e) => {
  console.error(process.env.SRASEG_DEBUG ? e : `error: ${e.message}`);
  process.exit(1);
});
let result;
if (args.method === 'supervised') {
  result = await E.trainSupervised(data, { ...common, iterations: args.iterations ?? (onPhantom ? 200 : 30000), batch });
} else {
  const { self } = await E.trainSemiSupervised(data, {
    ...common,
    method: args.method,
    preIterations: args['pre-iterations'] ?? (onPhantom ? 100 : 10000),
    selfIterations: args.iterations ?? (onPhantom ? 200 : 30000),
    labeledBatch: batch,
    unlabeledBatch: args['unlabeled-batch'] ?? batch,
    emaAlpha: args.ema,
    teacherMode: args['teacher-eval'] ? 'eval' : 'train',
    largestComponent: args['largest-component'],
    softMix: args['soft-mix'],
    softLoss: args['soft-loss'],
    blend: args.blend,
    zeroPad: args['zero-pad'],
    sa: args.method === 'sra-seg' && args.sa,
    dinov2: args.dinov2,
    saMode: args['sa-mode'],
    saLambda: args['sa-lambda'],
    vitSize: args['vit-size'],
  });
  result = self;
}
const minutes = (performance.now() - t0) / 60000;
console.log(`done in ${minutes.toFixed(1)} min · best validation Dice ${result.bestDice.toFixed(4)} · run folder ${out}`);
await E.shutdown();
