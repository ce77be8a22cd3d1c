// What every segmentation training command shares (train-acdc, train-fundus): the method options
// (supervised | bcp | sra-seg, the SRA-Seg switches, SA, SGD, schedule, run folder) declared in ONE
// place with their constraints, the checks that involve several of them or the data, and the call
// into the trainers. Each command adds its data options and may override a default or a help text.
import {
  SA_INPUTS,
  SA_MODES,
  SOFT_LOSS_FORMS,
  checkDinov2Weights,
  checkRunFolder,
  checkUNetConfig,
  readUNetCheckpoint,
  semiRunFolder,
  supervisedRunFolder,
  trainSemiSupervised,
  trainSupervised,
  UNET_DEFAULTS,
  UserError,
  type BlendKernel,
  type SegDataset,
  type SemiConfig,
  type StageResult,
  type SupervisedConfig,
  type Validator,
} from '../index.js';
import { NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, PROBABILITY, SEED, VAL_SPLIT } from './common-options.js';
import { defineOptions, UsageError, type OptionValues } from './options.js';

export const METHODS = ['supervised', 'bcp', 'sra-seg'] as const;
export const BLENDS = ['avgpool3', 'gauss5', 'box7'] as const satisfies readonly BlendKernel[];

/** Options whose meaning is the same for every dataset; a command may override a default or a help text. */
export const METHOD_OPTIONS = defineOptions({
  method: { type: 'string', default: 'supervised', choices: METHODS, help: 'training method' },
  iterations: { ...POSITIVE_INT, help: 'supervised: training iterations; bcp/sra-seg: self-training iterations' },
  'pre-iterations': { ...NON_NEGATIVE_INT, help: 'bcp/sra-seg pre-training iterations (0 skips pre-training; use with --init)' },
  init: { type: 'string', metavar: 'file', help: "start the student from these UNet weights instead of a random initialisation: .safetensors (e.g. a supervised run's model_best) or a BCP/SSL4MIS .pth" },
  batch: { ...POSITIVE_INT, help: 'labeled images per batch (bcp/sra-seg: even, split into halves)' },
  'unlabeled-batch': { ...POSITIVE_INT, multipleOf: 2, why: 'split into halves a and b', help: 'bcp/sra-seg: unlabeled images per batch (default: as --batch)' },
  ema: { ...PROBABILITY, default: 0.99, help: 'bcp/sra-seg: EMA decay of the teacher' },
  'teacher-eval': { type: 'boolean', default: false, help: 'run the teacher in eval mode for pseudo-labels (published: train mode)' },
  'largest-component': { type: 'boolean', default: true, help: 'keep the largest connected component per class in pseudo-labels' },
  'soft-mix': { type: 'boolean', default: true, help: 'sra-seg: smoothed mask, labels blended with the same α (--no-soft-mix for Table 3)' },
  'soft-loss': { type: 'boolean', default: true, help: 'sra-seg: soft Dice + soft CE (--no-soft-loss for Table 3)' },
  'soft-loss-form': {
    type: 'string',
    default: 'published',
    choices: SOFT_LOSS_FORMS,
    help: "sra-seg: 'published' (the authors' code: Dice per sample and class, CE averaged over pixels) or 'paper' (eq. 13–14: one Dice ratio over the batch, CE summed over every pixel — its scale grows with batch and image size; docs/METHOD.md)",
  },
  sa: { type: 'boolean', default: true, help: 'sra-seg: similarity-alignment loss in self-training (needs --dinov2; --no-sa to train without it)' },
  dinov2: { type: 'string', metavar: 'file', help: 'DINOv2 weights for SA: torch-hub .pth (e.g. dinov2_vits14_pretrain.pth) or Hugging Face model.safetensors' },
  'sa-mode': {
    type: 'string',
    default: 'prediction',
    choices: SA_MODES,
    help: "SA: 'prediction' (DINOv2 on the student's soft predictions vs DINOv2 on the real slices' one-hot labels), 'features' (DINOv2 picks each synthetic slice's nearest real one; distance between the UNet's own pooled bottlenecks, the real side detached) or 'published' (DINOv2 on raw images, no gradient, as the published code); docs/METHOD.md",
  },
  'sa-input': {
    type: 'string',
    default: 'mixed',
    choices: SA_INPUTS,
    help: "SA's synthetic side: 'mixed' (the two mixed images the loss trains on, paper §3.4; no extra UNet pass) or 'unlabeled' (the raw unlabeled slices; one more UNet pass)",
  },
  'sa-lambda': { ...NON_NEGATIVE, default: 0.1, help: 'SA weight λ' },
  'vit-size': { ...POSITIVE_INT, multipleOf: 14, why: "DINOv2's patches are 14 pixels", default: 224, help: 'side the ViT sees (112 costs about a quarter of 224)' },
  'sa-every': { ...POSITIVE_INT, default: 1, help: 'SA on every k-th self-training iteration only (λ is not rescaled: its average weight becomes λ/k)' },
  'sa-subset': { ...NON_NEGATIVE_INT, default: 0, help: 'SA on at most n synthetic and n real images per step, half from each half-batch (0: all)' },
  'reload-optimizer': { type: 'boolean', default: true, help: 'bcp/sra-seg: self-training starts with the optimiser state of the best pre-training checkpoint, as published (--no-reload-optimizer: a fresh SGD)' },
  blend: { type: 'string', default: 'avgpool3', choices: BLENDS, help: 'sra-seg mask smoothing: avgpool3 (paper), gauss5 (published ACDC code), box7 (published fundus code)' },
  'zero-pad': { type: 'boolean', default: false, help: 'sra-seg: smooth with zero padding, blending the image border (as the published code)' },
  lr: { ...POSITIVE, default: 0.01, help: 'SGD learning rate (constant, as published)' },
  momentum: { type: 'number', min: 0, below: 1, default: 0.9, help: 'SGD momentum' },
  'weight-decay': { ...NON_NEGATIVE, default: 1e-4, help: 'SGD weight decay' },
  seed: { ...SEED, default: 1337, help: 'seed for weights, dropout, sampling and augmentation' },
  'val-every': { ...POSITIVE_INT, help: 'iterations between validations' },
  'val-split': {
    ...VAL_SPLIT,
    help: "validation volumes whose mean Dice chooses the best checkpoint: 'all', or 'select' — half the patients (src/data/val-split.ts), so that the other half scores it honestly (every volume is still scored and logged per volume; eval-acdc / eval-fundus --val-split report re-scores a checkpoint)",
  },
  'log-every': { ...POSITIVE_INT, default: 10, help: 'iterations between loss read-backs' },
  out: { type: 'string', metavar: 'dir', help: 'run folder (default runs/<method>-<data>-<time>)' },
  resume: { type: 'boolean', default: false, help: 'continue the run in --out exactly where its checkpoint left it (the flags must be the run\'s, except --iterations)' },
  'allow-config-change': { type: 'boolean', default: false, help: 'with --resume: continue even though flags differ from the run\'s config.json (the change is recorded there)' },
});

export type MethodArgs = OptionValues<typeof METHOD_OPTIONS>;

const isSemi = (args: MethodArgs) => args.method !== 'supervised';

/** Checks among the method flags alone (before any data is opened); throws a one-line UsageError. */
export function checkMethodArgs(args: MethodArgs): void {
  if (args.resume && !args.out) throw new UsageError('--resume needs --out <run folder>: the folder of the run to continue');
  if (args['allow-config-change'] && !args.resume) throw new UsageError('--allow-config-change applies to --resume (a fresh run has no saved flags to differ from)');
  if (args.method === 'sra-seg' && args.sa && !args.dinov2) {
    throw new UsageError('--method sra-seg: the SA loss needs DINOv2 weights: pass --dinov2 <file> (nothing is downloaded at run time), or --no-sa');
  }
}

/** What the dataset decides: sizes, schedule defaults already resolved, the run folder, validation. */
export interface RunSettings {
  size: number;
  iterations: number;
  preIterations: number;
  batch: number;
  valEvery: number;
  valLimit?: number;
  out: string;
  validate?: Validator;
}

/**
 * Everything the run needs, checked before the run folder is created or training starts: the data's
 * files (preflight), that the split can fill a batch, the --init and --dinov2 files, and the run
 * folder's rules (no overwriting, --resume needs a checkpoint and the run's flags). Throws UserError.
 */
export function checkRun(data: SegDataset, args: MethodArgs, run: RunSettings): void {
  data.preflight?.();
  if (!data.valVolumes.length) throw new UserError(`${data.describe()}: nothing to validate on`);
  const labeled = data.labeledIndices.length;
  if (labeled < run.batch) {
    throw new UserError(`--batch ${run.batch}: the labeled split has only ${labeled} image(s); lower --batch or label more images`);
  }
  if (isSemi(args)) {
    if (run.batch % 2) throw new UserError(`--batch ${run.batch}: --method ${args.method} splits each batch into halves a and b, so it must be even`);
    if (!data.unlabeledIndices.length) throw new UserError(`--method ${args.method}: the unlabeled pool is empty; label fewer images or give an unlabeled folder`);
  }
  // The trainers build the published UNet (UNET_DEFAULTS' widths, one input channel).
  if (args.init) checkUNetConfig(readUNetCheckpoint(args.init), { ...UNET_DEFAULTS, numClasses: data.numClasses }, '--init for this data');
  if (args.method === 'sra-seg' && args.sa && args.dinov2) checkDinov2Weights(args.dinov2);
  const m = trainerConfig(args, run);
  checkRunFolder(m.method === 'supervised' ? supervisedRunFolder(data, m.cfg) : semiRunFolder(data, m.cfg));
}

type TrainerConfig = { method: 'supervised'; cfg: SupervisedConfig } | { method: 'semi'; cfg: SemiConfig };

/** The trainer's config the options make (one place: the run-folder check compares exactly this). */
function trainerConfig(args: MethodArgs, run: RunSettings): TrainerConfig {
  const common = {
    lr: args.lr,
    momentum: args.momentum,
    weightDecay: args['weight-decay'],
    seed: args.seed,
    size: run.size,
    valEvery: run.valEvery,
    valLimit: run.valLimit,
    valSplit: args['val-split'],
    logEvery: args['log-every'],
    out: run.out,
    resume: args.resume,
    allowConfigChanges: args['allow-config-change'],
    init: args.init,
    validate: run.validate,
  };
  if (args.method === 'supervised') return { method: 'supervised', cfg: { ...common, iterations: run.iterations, batch: run.batch } };
  return {
    method: 'semi',
    cfg: {
      ...common,
      method: args.method,
      preIterations: run.preIterations,
      selfIterations: run.iterations,
      labeledBatch: run.batch,
      unlabeledBatch: args['unlabeled-batch'] ?? run.batch,
      emaAlpha: args.ema,
      teacherMode: args['teacher-eval'] ? 'eval' : 'train',
      largestComponent: args['largest-component'],
      softMix: args['soft-mix'],
      softLoss: args['soft-loss'],
      softLossForm: args['soft-loss-form'],
      blend: args.blend,
      zeroPad: args['zero-pad'],
      sa: args.method === 'sra-seg' && args.sa,
      dinov2: args.dinov2,
      saMode: args['sa-mode'],
      saInput: args['sa-input'],
      saLambda: args['sa-lambda'],
      vitSize: args['vit-size'],
      saEvery: args['sa-every'],
      saSubset: args['sa-subset'],
      reloadOptimizer: args['reload-optimizer'],
    },
  };
}

/** Train with the method the options name; returns the (self-training) stage's result. */
export async function trainWithMethod(data: SegDataset, args: MethodArgs, run: RunSettings): Promise<StageResult> {
  const m = trainerConfig(args, run);
  if (m.method === 'supervised') return trainSupervised(data, m.cfg);
  const { self } = await trainSemiSupervised(data, m.cfg);
  return self;
}
