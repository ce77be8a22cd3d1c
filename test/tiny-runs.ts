// The tiny training runs the trainer tests share (resume, crash, memory, run-folder, method tests):
// one definition of each, so that a test states only what it changes. Small enough for seconds on
// llvmpipe; every method's stage and phase still runs.
import * as E from '../src/index.js';

/** The cardiac phantom at 32²: 6 labeled slices, one validation volume of 3 slices. */
export const tinyPhantom = (trainSlices = 16) => new E.PhantomDataset({ seed: 3, size: 32, trainSlices, labeledSlices: 6, valVolumes: 1, volumeDepth: 3 });

/** The phantom's labeled slices at 16², with x-flips: the reals of the tiny StyleGAN2 runs. */
export const tinyReals = () => E.RealImageSet.fromDataset(new E.PhantomDataset({ seed: 2, size: 16, trainSlices: 12, labeledSlices: 8, valVolumes: 1, volumeDepth: 2 }), 8, 3);

const SGD = { lr: 0.01, momentum: 0.9, weightDecay: 1e-4, size: 32, valEvery: 2, valLimit: 1, logEvery: 1, resume: false };

/** Supervised, batch 2, validating every 2 iterations on one volume. */
export const tinySupervised = (out: string, over: Partial<E.SupervisedConfig> = {}): E.SupervisedConfig => ({
  ...SGD,
  iterations: 2,
  batch: 2,
  seed: 5,
  out,
  ...over,
});

/** BCP or SRA-Seg (SA off), 2 + 2 slices per batch, the published options. */
export const tinySemi = (out: string, method: E.SemiMethod, over: Partial<E.SemiConfig> = {}): E.SemiConfig => ({
  ...SGD,
  method,
  preIterations: 2,
  selfIterations: 4,
  labeledBatch: 2,
  unlabeledBatch: 2,
  seed: 9,
  out,
  emaAlpha: 0.99,
  teacherMode: 'train',
  largestComponent: true,
  softMix: true,
  softLoss: true,
  blend: 'avgpool3',
  zeroPad: false,
  sa: false,
  ...over,
});

/** StyleGAN2-ADA at 16², minibatches of 4, every phase (R1 and path length every 2nd minibatch), ADA moving. */
export const tinyStyleGan = (out: string, over: Partial<E.StyleGanTrainConfig> = {}): E.StyleGanTrainConfig => ({
  ...E.STYLEGAN_TRAIN_DEFAULTS,
  out,
  resume: false,
  seed: 5,
  kimg: 0.016, // 4 minibatches of 4
  batch: 4,
  zDim: 8,
  wDim: 8,
  mappingLayers: 2,
  channelBase: 64,
  channelMax: 8,
  r1Gamma: 0.5,
  r1Interval: 2,
  plWeight: 2,
  plInterval: 2,
  emaKimg: 0.01,
  augment: 'ada',
  adaKimg: 0.01, // p moves visibly in a few minibatches
  adaInterval: 1,
  snapshotKimg: 0.008, // every 2 minibatches
  logEvery: 1,
  gridImages: 4,
  ...over,
});
