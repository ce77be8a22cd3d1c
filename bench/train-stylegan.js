#!/usr/bin/env node
// Train a StyleGAN2-ADA generator on the labeled slices of an ACDC split (the paper's source of
// synthetic unlabeled images). `node bench/train-stylegan.js --help` lists the options.
import { join } from 'node:path';
import * as E from '../dist/index.js';

const D = E.STYLEGAN_TRAIN_DEFAULTS;
const usage = 'usage: node bench/train-stylegan.js --data DIR [--labeled 7] [--resolution 64] [--kimg N] [options]';
const spec = {
  data: { type: 'string', help: 'ACDC directory (SSL4MIS layout); without it: the embedded phantom (a demonstration)' },
  labeled: { type: 'string', default: '7', help: "train on the labeled slices of this split: patients (3, 7) or 'Ns' slices" },
  resolution: { type: 'number', help: 'square image resolution (a power of two ≥ 8: 64, 128, 256; default 64)' },
  kimg: { type: 'number', help: `training length in thousands of real images shown (published ${D.kimg})` },
  batch: { type: 'number', default: D.batch, help: 'minibatch size' },
  'channel-base': { type: 'number', help: `channels at resolution r: min(base / r, max) (default ${D.channelBase}, the published auto config)` },
  'channel-max': { type: 'number', help: `channel cap (default ${D.channelMax})` },
  'z-dim': { type: 'number', help: `latent size (default ${D.zDim})` },
  'w-dim': { type: 'number', help: `intermediate latent size (default ${D.wDim})` },
  'mapping-layers': { type: 'number', help: `mapping network depth (default ${D.mappingLayers} as the auto config; paper 8)` },
  lr: { type: 'number', default: D.lr, help: 'Adam learning rate of G and D (betas 0, 0.99)' },
  gamma: { type: 'number', help: 'R1 weight γ (default: the auto config, 0.0002·res²/batch)' },
  'r1-interval': { type: 'number', default: D.r1Interval, help: 'lazy R1: minibatches between penalties' },
  'pl-weight': { type: 'number', default: D.plWeight, help: 'path-length regularisation weight (published 2; 0 = off)' },
  'style-mixing': { type: 'number', default: D.styleMixingProb, help: 'style-mixing probability' },
  'ema-kimg': { type: 'number', help: 'G_ema half-life in kimg (default batch·10/32)' },
  augment: { type: 'string', default: 'ada', help: 'ada | fixed | none' },
  p: { type: 'number', default: 0, help: 'augmentation probability for --augment fixed' },
  target: { type: 'number', default: D.adaTarget, help: 'ADA target of r_t = E[sign(D(real))]' },
  'ada-kimg': { type: 'number', default: D.adaKimg, help: 'ADA speed: kimg for p to move by 1 (published 500; short runs need less)' },
  mirror: { type: 'boolean', default: false, help: 'add x-flipped copies of the reals' },
  'snapshot-kimg': { type: 'number', default: D.snapshotKimg, help: 'kimg between snapshots (grid, FD, checkpoint)' },
  'fd-unet': { type: 'string', help: 'measure FD at snapshots with this trained UNet encoder (.safetensors)' },
  dinov2: { type: 'string', help: 'measure FD-DINOv2 at snapshots with these DINOv2 weights (preferred over --fd-unet)' },
  'fd-images': { type: 'number', default: D.fdImages, help: 'generated images per FD measurement' },
  seed: { type: 'number', default: 0, help: 'seed of weights, latents, noise and augmentation' },
  out: { type: 'string', help: 'run folder (default runs/stylegan-<time>)' },
  resume: { type: 'boolean', default: false, help: 'continue the run in --out from its checkpoint' },
  'resume-from-pkl': {
    type: 'string',
    help: "start from an official StyleGAN2-ADA network-snapshot-*.pkl (its G, D, G_ema, ADA p); it fixes the network options above, and with --resume it only supplies them",
  },
};
// The options a snapshot fixes (no defaults in the spec, so that a given one can be checked against it).
const NETWORK_FLAGS = ['resolution', 'z-dim', 'w-dim', 'mapping-layers', 'channel-base', 'channel-max'];

let args;
try {
  args = E.parseArgs(process.argv.slice(2), spec, usage);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
if (!['ada', 'fixed', 'none'].includes(args.augment)) {
  console.error(`--augment ${args.augment}: unknown (ada | fixed | none)`);
  process.exit(2);
}
let start;
if (args['resume-from-pkl']) {
  try {
    start = E.trainingStartFromPkl(args['resume-from-pkl'], Object.fromEntries(NETWORK_FLAGS.map((f) => [f, args[f]])));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
}
const R = start?.resolution ?? args.resolution ?? 64;
if (!(R >= 8 && (R & (R - 1)) === 0)) {
  console.error(`--resolution ${R}: must be a power of two ≥ 8 (64, 128, 256)`);
  process.exit(2);
}
if (args.resume && !args.out) {
  console.error('--resume needs --out <run folder>');
  process.exit(2);
}
process.on('uncaughtException', (e) => {
  console.error(process.env.SRASEG_DEBUG ? e : `error: ${e.message}`);
  process.exit(1);
});

await E.init();
const labeled = /s$/.test(args.labeled) ? { slices: Number(args.labeled.slice(0, -1)) } : { patients: Number(args.labeled) };
const data = args.data ? await E.AcdcDataset.open({ root: args.data, labeled }) : new E.PhantomDataset({ seed: args.seed, size: R, trainSlices: 120 });
console.error(args.data ? `data: ${data.describe()}` : 'data: the embedded procedural cardiac phantom (no --data given): a demonstration, not ACDC.');
const reals = E.RealImageSet.fromDataset(data, R, args.seed, { mirror: args.mirror });

const measure = E.ganFeatureNetwork({ dinov2: args.dinov2, unet: args['fd-unet'] });
if (measure) console.error(`FD at snapshots: ${measure.features.name}`);
else console.error('FD at snapshots: off (pass --dinov2 <weights> or --fd-unet <UNet checkpoint>)');

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const cfg = {
  ...D,
  out: args.out ?? join('runs', `stylegan-${stamp}`),
  resume: args.resume,
  seed: args.seed,
  kimg: args.kimg ?? (args.data ? D.kimg : 2),
  batch: args.batch,
  zDim: args['z-dim'] ?? D.zDim,
  wDim: args['w-dim'] ?? D.wDim,
  mappingLayers: args['mapping-layers'] ?? D.mappingLayers,
  channelBase: args['channel-base'] ?? D.channelBase,
  channelMax: args['channel-max'] ?? D.channelMax,
  lr: args.lr,
  r1Gamma: args.gamma ?? (0.0002 * R * R) / args.batch,
  r1Interval: args['r1-interval'],
  plWeight: args['pl-weight'],
  styleMixingProb: args['style-mixing'],
  emaKimg: args['ema-kimg'] ?? (args.batch * 10) / 32,
  augment: args.augment,
  augmentP: args.p,
  adaTarget: args.target,
  adaKimg: args['ada-kimg'],
  snapshotKimg: args['snapshot-kimg'],
  fdImages: args['fd-images'],
  ...start?.networks,
};
const t0 = performance.now();
const result = await E.trainStyleGAN(reals, cfg, measure ?? undefined, start);
const last = result.snapshots.at(-1);
console.log(
  `done in ${((performance.now() - t0) / 60000).toFixed(1)} min · ${last?.fd !== undefined ? `${measure.features.name} ${last.fd.toFixed(3)} · ` : ''}generator ${result.G_ema}`,
);
measure?.dispose();
await E.shutdown();
