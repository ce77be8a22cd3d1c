// Train a StyleGAN2-ADA generator on the labeled slices of an ACDC split (the paper's source of
// synthetic unlabeled images), or on the embedded phantom as a demonstration.
import {
  AcdcDataset,
  checkBatchGpu,
  checkDinov2Weights,
  checkRunFolder,
  ganFeatureNetwork,
  init,
  PhantomDataset,
  readUNetCheckpoint,
  RealImageSet,
  STYLEGAN_TRAIN_DEFAULTS,
  styleGanRunFolder,
  trainStyleGAN,
  trainingStartFromPkl,
  UserError,
  type SegDataset,
} from '../../index.js';
import { LABELED_SPLIT, NON_NEGATIVE, parseLabeledSplit, POSITIVE, POSITIVE_INT, PROBABILITY, SEED, defaultRunFolder } from '../common-options.js';
import { UsageError } from '../options.js';
import { defineCommand } from '../runner.js';

const D = STYLEGAN_TRAIN_DEFAULTS;
export const AUGMENT_MODES = ['ada', 'fixed', 'none'] as const;
const isPowerOfTwo = (n: number) => Number.isInteger(Math.log2(n));

export default defineCommand({
  name: 'train-stylegan',
  usage: 'node bench/train-stylegan.js --data DIR [--labeled 7] [--resolution 64] [--kimg N] [options]',
  description: `
Trains StyleGAN2-ADA on the labeled slices of an ACDC split (area-resampled to --resolution), as the paper
does for its synthetic unlabeled images; without --data on the embedded phantom (a demonstration). The run
folder (never overwritten: continue a run with --resume) holds config.json, checkpoint.safetensors (for --resume), G_ema.safetensors (for bench/generate.js), log.jsonl,
reals.png, fakes<kimg>.png and curves.png. FD is measured with DINOv2 (--dinov2) or a trained UNet's encoder
(--fd-unet), named as such.`,
  options: {
    data: { type: 'string', metavar: 'dir', help: 'ACDC directory (SSL4MIS layout); without it: the embedded phantom (a demonstration)' },
    labeled: { ...LABELED_SPLIT, default: '7', help: "train on the labeled slices of this split: patients (3, 7) or 'Ns' slices" },
    resolution: { ...POSITIVE_INT, min: 8, check: (r: number) => (isPowerOfTwo(r) ? null : 'must be a power of two ≥ 8 (the networks double the resolution per block): e.g. 64, 128 or 256'), checkHelp: 'a power of two', help: 'square image resolution (default 64, or the --resume-from-pkl snapshot\'s)' },
    kimg: { ...POSITIVE, help: `training length in thousands of real images shown (default ${D.kimg} on ACDC, 2 on the phantom)` },
    batch: {
      ...POSITIVE_INT,
      default: D.batch,
      check: (b) => (b < D.mbstdGroupSize || b % D.mbstdGroupSize === 0 ? null : `the discriminator's minibatch-std groups of ${D.mbstdGroupSize} need a batch below ${D.mbstdGroupSize} or a multiple of it: e.g. ${Math.floor(b / 4) * 4 || 4} or ${Math.ceil(b / 4) * 4}`),
      checkHelp: `below ${D.mbstdGroupSize} or a multiple of ${D.mbstdGroupSize}`,
      help: 'minibatch size',
    },
    'batch-gpu': {
      ...POSITIVE_INT,
      metavar: 'n',
      help: "images per forward/backward pass: the minibatch runs in rounds of n whose gradients add up (published batch_gpu; for shapes too large for one pass, e.g. 256² at --batch 16 on a 128 MiB binding limit) (default: the whole batch)",
    },
    'channel-base': { ...POSITIVE_INT, help: `channels at resolution r: min(base / r, max) (published auto config 16384) (default ${D.channelBase})` },
    'channel-max': { ...POSITIVE_INT, help: `channel cap (published 512) (default ${D.channelMax})` },
    'z-dim': { ...POSITIVE_INT, help: `latent size (default ${D.zDim})` },
    'w-dim': { ...POSITIVE_INT, help: `intermediate latent size (default ${D.wDim})` },
    'mapping-layers': { ...POSITIVE_INT, help: `mapping network depth (auto config 2, paper 8) (default ${D.mappingLayers})` },
    lr: { ...POSITIVE, default: D.lr, help: 'Adam learning rate of G and D (betas 0, 0.99)' },
    gamma: { ...NON_NEGATIVE, help: 'R1 weight γ (default: the auto config, 0.0002·res²/batch)' },
    'r1-interval': { ...POSITIVE_INT, default: D.r1Interval, help: 'lazy R1: minibatches between penalties' },
    'pl-weight': { ...NON_NEGATIVE, default: D.plWeight, help: 'path-length regularisation weight (published 2; 0 = off)' },
    'style-mixing': { ...PROBABILITY, default: D.styleMixingProb, help: 'style-mixing probability' },
    'ema-kimg': { ...NON_NEGATIVE, help: 'G_ema half-life in kimg (default batch·10/32)' },
    augment: { type: 'string', default: 'ada', choices: AUGMENT_MODES, help: 'augmentation: adaptive, fixed probability --p, or none' },
    p: { ...PROBABILITY, default: 0, help: 'augmentation probability for --augment fixed' },
    target: { ...PROBABILITY, default: D.adaTarget, help: 'ADA target of r_t = E[sign(D(real))]' },
    'ada-kimg': { ...POSITIVE, default: D.adaKimg, help: 'ADA speed: kimg for p to move by 1 (published 500; short runs need less)' },
    mirror: { type: 'boolean', default: false, help: 'add x-flipped copies of the reals' },
    'snapshot-kimg': { ...POSITIVE, default: D.snapshotKimg, help: 'kimg between snapshots (grid, FD, checkpoint)' },
    'fd-unet': { type: 'string', metavar: 'file', help: 'measure FD at snapshots with this trained UNet encoder (.safetensors)' },
    dinov2: { type: 'string', metavar: 'file', help: 'measure FD-DINOv2 at snapshots with these DINOv2 weights (preferred over --fd-unet)' },
    'fd-images': { ...POSITIVE_INT, min: 2, default: D.fdImages, help: 'generated images per FD measurement' },
    seed: { ...SEED, default: 0, help: 'seed of weights, latents, noise and augmentation' },
    out: { type: 'string', metavar: 'dir', help: 'run folder (default runs/stylegan-<time>)' },
    resume: { type: 'boolean', default: false, help: 'continue the run in --out from its checkpoint (the flags must be the run\'s, except --kimg)' },
    'allow-config-change': { type: 'boolean', default: false, help: 'with --resume: continue even though flags differ from the run\'s config.json (the change is recorded there)' },
    'resume-from-pkl': {
      type: 'string',
      metavar: 'file',
      help: 'start from an official StyleGAN2-ADA network-snapshot-*.pkl (its G, D, G_ema and ADA p); it fixes the network options (resolution, z/w dims, mapping layers, channels), and with --resume it only supplies them',
    },
  },
  check(args) {
    if (args.resume && !args.out) throw new UsageError('--resume needs --out <run folder>: the folder of the run to continue');
    if (args['allow-config-change'] && !args.resume) throw new UsageError('--allow-config-change applies to --resume (a fresh run has no saved flags to differ from)');
    const batchGpu = checkBatchGpu(args.batch, args['batch-gpu'], D.mbstdGroupSize);
    if (batchGpu) throw new UsageError(`--batch-gpu ${args['batch-gpu']}: ${batchGpu}`);
    if (args.p > 0 && args.augment !== 'fixed') throw new UsageError(`--p ${args.p} applies to --augment fixed (--augment ${args.augment} ignores it)`);
  },
  async run(args) {
    // A snapshot fixes the networks: given network flags must agree with it (checked on the CPU).
    const start = args['resume-from-pkl']
      ? trainingStartFromPkl(args['resume-from-pkl'], {
          resolution: args.resolution,
          'z-dim': args['z-dim'],
          'w-dim': args['w-dim'],
          'mapping-layers': args['mapping-layers'],
          'channel-base': args['channel-base'],
          'channel-max': args['channel-max'],
        })
      : undefined;
    const R = start?.resolution ?? args.resolution ?? 64;
    // Everything read and checked on the CPU before the GPU starts or the run folder exists.
    let data: SegDataset;
    if (args.data) data = await AcdcDataset.open({ root: args.data, labeled: parseLabeledSplit(args.labeled) });
    else data = new PhantomDataset({ seed: args.seed, size: R, trainSlices: 120 });
    if (!data.labeledIndices.length) throw new UserError(`--labeled ${args.labeled}: no labeled slices to train the generator on`);
    const reals = RealImageSet.fromDataset(data, R, args.seed, { mirror: args.mirror }); // reads (and checks) every labeled slice
    if (args.dinov2) checkDinov2Weights(args.dinov2);
    else if (args['fd-unet']) readUNetCheckpoint(args['fd-unet']);
    const cfg = {
      ...D,
      out: args.out ?? defaultRunFolder('stylegan'),
      resume: args.resume,
      allowConfigChanges: args['allow-config-change'],
      seed: args.seed,
      kimg: args.kimg ?? (args.data ? D.kimg : 2),
      batch: args.batch,
      batchGpu: args['batch-gpu'],
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
    checkRunFolder(styleGanRunFolder(reals, cfg, start));
    console.error(args.data ? `data: ${data.describe()}` : 'data: the embedded procedural cardiac phantom (no --data given): a demonstration, not ACDC.');

    await init();
    const measure = ganFeatureNetwork({ dinov2: args.dinov2, unet: args['fd-unet'] });
    if (measure) console.error(`FD at snapshots: ${measure.features.name}`);
    else console.error('FD at snapshots: off (pass --dinov2 <weights> or --fd-unet <UNet checkpoint>)');
    try {
      const t0 = performance.now();
      const result = await trainStyleGAN(reals, cfg, measure ?? undefined, start);
      const last = result.snapshots.at(-1);
      const fd = last?.fd !== undefined && measure ? `${measure.features.name} ${last.fd.toFixed(3)} · ` : '';
      console.log(`done in ${((performance.now() - t0) / 60000).toFixed(1)} min · ${fd}generator ${result.G_ema}`);
    } finally {
      measure?.dispose();
    }
  },
});
