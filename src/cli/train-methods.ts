// What every segmentation training CLI shares (bench/train-acdc.js, bench/train-fundus.js): the
// method options (supervised | bcp | sra-seg, the SRA-Seg switches, SA, SGD, schedule, run folder),
// their checks, and the call into the trainers. Each CLI adds its data options and its defaults.
import type { SegDataset } from '../data/dataset.js';
import { UNET_DEFAULTS } from '../models/unet.js';
import { readUNetCheckpoint } from '../models/unet-weights.js';
import type { BlendKernel } from '../sraseg/mixing.js';
import type { SaMode } from '../sraseg/sa.js';
import type { StageResult, Validator } from '../train/stage.js';
import { trainSemiSupervised, type SemiMethod } from '../train/semi.js';
import { trainSupervised } from '../train/supervised.js';
import type { OptionSpec, Parsed } from './args.js';

export const METHODS = ['supervised', 'bcp', 'sra-seg'] as const;
const SA_MODES = ['features', 'prediction', 'published'] as const;
const BLENDS = ['avgpool3', 'gauss5', 'box7'] as const;

/** Options whose meaning is the same for every dataset; a CLI may override a default or a help text. */
export const METHOD_OPTIONS: Record<string, OptionSpec> = {
  method: { type: 'string', default: 'supervised', help: 'supervised | bcp | sra-seg' },
  iterations: { type: 'number', help: 'supervised: training iterations; bcp/sra-seg: self-training iterations' },
  'pre-iterations': { type: 'number', help: 'bcp/sra-seg pre-training iterations (0 skips pre-training; use with --init)' },
  init: { type: 'string', help: "start the student from these UNet weights instead of a random initialisation: .safetensors (e.g. a supervised run's model_best) or a BCP/SSL4MIS .pth" },
  batch: { type: 'number', help: 'labeled images per batch' },
  'unlabeled-batch': { type: 'number', help: 'bcp/sra-seg: unlabeled images per batch (default: as --batch)' },
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
  blend: { type: 'string', default: 'avgpool3', help: 'sra-seg mask smoothing: avgpool3 (paper) | gauss5 (published ACDC code) | box7 (published fundus code)' },
  'zero-pad': { type: 'boolean', default: false, help: 'sra-seg: smooth with zero padding, blending the image border (as the published code)' },
  lr: { type: 'number', default: 0.01, help: 'SGD learning rate (constant, as published)' },
  momentum: { type: 'number', default: 0.9, help: 'SGD momentum' },
  'weight-decay': { type: 'number', default: 1e-4, help: 'SGD weight decay' },
  seed: { type: 'number', default: 1337, help: 'seed for weights, dropout, sampling and augmentation' },
  'val-every': { type: 'number', help: 'iterations between validations' },
  'log-every': { type: 'number', default: 10, help: 'iterations between loss read-backs' },
  out: { type: 'string', help: 'run folder (default runs/<method>-<data>-<time>)' },
  resume: { type: 'boolean', default: false, help: 'continue the run in --out exactly where its last checkpoint left it' },
};

/** The first problem with the method options, as a message for the user; null when they are fine. */
export function methodArgsProblem(args: Parsed): string | null {
  const oneOf = (name: string, allowed: readonly string[]) =>
    allowed.includes(args[name] as string) ? null : `--${name} ${args[name]}: unknown (${allowed.join(' | ')})`;
  return (
    oneOf('method', METHODS) ??
    oneOf('sa-mode', SA_MODES) ??
    oneOf('blend', BLENDS) ??
    (args.method === 'sra-seg' && args.sa && !args.dinov2
      ? 'sra-seg: the SA loss needs DINOv2 weights: pass --dinov2 <file> (nothing is downloaded at run time), or --no-sa.'
      : null) ??
    (args.resume && !args.out ? '--resume needs --out <run folder>' : null) ??
    (args.init ? initProblem(args.init as string) : null)
  );
}

/** --init is read and checked here (format, network, widths) so that a bad file fails before the data loads. */
function initProblem(path: string): string | null {
  try {
    const { config } = readUNetCheckpoint(path);
    const want = UNET_DEFAULTS.features;
    if (config.inChannels !== 1 || String(config.features) !== String(want)) {
      return `--init ${path}: a UNet of widths [${config.features}] with ${config.inChannels} input channel(s); the trainers build [${want}] with 1. Give a checkpoint of the published UNet.`;
    }
    return null;
  } catch (e) {
    return `--init ${(e as Error).message}`;
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

/** Train with the method the options name; returns the (self-training) stage's result. */
export async function trainWithMethod(data: SegDataset, args: Parsed, run: RunSettings): Promise<StageResult> {
  const common = {
    lr: args.lr as number,
    momentum: args.momentum as number,
    weightDecay: args['weight-decay'] as number,
    seed: args.seed as number,
    size: run.size,
    valEvery: run.valEvery,
    valLimit: run.valLimit,
    logEvery: args['log-every'] as number,
    out: run.out,
    resume: args.resume as boolean,
    init: args.init as string | undefined,
    validate: run.validate,
  };
  if (args.method === 'supervised') return trainSupervised(data, { ...common, iterations: run.iterations, batch: run.batch });
  const { self } = await trainSemiSupervised(data, {
    ...common,
    method: args.method as SemiMethod,
    preIterations: run.preIterations,
    selfIterations: run.iterations,
    labeledBatch: run.batch,
    unlabeledBatch: (args['unlabeled-batch'] as number | undefined) ?? run.batch,
    emaAlpha: args.ema as number,
    teacherMode: args['teacher-eval'] ? 'eval' : 'train',
    largestComponent: args['largest-component'] as boolean,
    softMix: args['soft-mix'] as boolean,
    softLoss: args['soft-loss'] as boolean,
    blend: args.blend as BlendKernel,
    zeroPad: args['zero-pad'] as boolean,
    sa: args.method === 'sra-seg' && (args.sa as boolean),
    dinov2: args.dinov2 as string | undefined,
    saMode: args['sa-mode'] as SaMode,
    saLambda: args['sa-lambda'] as number,
    vitSize: args['vit-size'] as number,
  });
  return self;
}
