// What every segmentation training CLI shares (bench/train-acdc.js, bench/train-fundus.js): the
// method options (supervised | bcp | sra-seg, the SRA-Seg switches, SA, SGD, schedule, run folder),
// their checks, and the call into the trainers. Each CLI adds its data options and its defaults.
import type { SegDataset } from '../data/dataset.js';
import type { BlendKernel } from '../sraseg/mixing.js';
import { SA_MODES, type SaMode } from '../sraseg/sa.js';
import { SA_INPUTS, type SaInput } from '../sraseg/steps.js';
import { SOFT_LOSS_FORMS, type SoftLossForm } from '../engine/index.js';
import type { StageResult, Validator } from '../train/stage.js';
import { trainSemiSupervised, type SemiMethod } from '../sraseg/train.js';
import { trainSupervised } from '../train/supervised.js';
import type { OptionSpec, Parsed } from './args.js';

export const METHODS = ['supervised', 'bcp', 'sra-seg'] as const;
const BLENDS = ['avgpool3', 'gauss5', 'box7'] as const;

/** Options whose meaning is the same for every dataset; a CLI may override a default or a help text. */
export const METHOD_OPTIONS: Record<string, OptionSpec> = {
  method: { type: 'string', default: 'supervised', help: 'supervised | bcp | sra-seg' },
  iterations: { type: 'number', help: 'supervised: training iterations; bcp/sra-seg: self-training iterations' },
  'pre-iterations': { type: 'number', help: 'bcp/sra-seg pre-training iterations (0 skips pre-training; use with --init)' },
  init: { type: 'string', help: "start the student from these UNet weights (.safetensors, e.g. a supervised run's model_best) instead of a random initialisation" },
  batch: { type: 'number', help: 'labeled images per batch' },
  'unlabeled-batch': { type: 'number', help: 'bcp/sra-seg: unlabeled images per batch (default: as --batch)' },
  ema: { type: 'number', default: 0.99, help: 'bcp/sra-seg: EMA decay of the teacher' },
  'teacher-eval': { type: 'boolean', default: false, help: 'run the teacher in eval mode for pseudo-labels (published: train mode)' },
  'largest-component': { type: 'boolean', default: true, help: 'keep the largest connected component per class in pseudo-labels' },
  'soft-mix': { type: 'boolean', default: true, help: 'sra-seg: smoothed mask, labels blended with the same α (--no-soft-mix for Table 3)' },
  'soft-loss': { type: 'boolean', default: true, help: 'sra-seg: soft Dice + soft CE (--no-soft-loss for Table 3)' },
  'soft-loss-form': { type: 'string', default: 'published', help: "sra-seg: 'published' (the authors' code: Dice per sample and class, CE averaged over pixels) | 'paper' (eq. 13–14: one Dice ratio over the batch, CE summed over every pixel — its scale grows with batch and image size; docs/METHOD.md)" },
  sa: { type: 'boolean', default: true, help: 'sra-seg: similarity-alignment loss in self-training (needs --dinov2; --no-sa to train without it)' },
  dinov2: { type: 'string', help: 'DINOv2 weights for SA: torch-hub .pth (e.g. dinov2_vits14_pretrain.pth) or Hugging Face model.safetensors' },
  'sa-mode': { type: 'string', default: 'prediction', help: "SA: 'prediction' (DINOv2 on the student's soft predictions vs DINOv2 on the real slices' one-hot labels) | 'features' (DINOv2 picks each synthetic slice's nearest real one; distance between the UNet's own pooled bottlenecks, the real side detached) | 'published' (DINOv2 on raw images, no gradient, as the published code); docs/METHOD.md" },
  'sa-input': { type: 'string', default: 'mixed', help: "SA's synthetic side: 'mixed' (the two mixed images the loss trains on, paper §3.4; no extra UNet pass) | 'unlabeled' (the raw unlabeled slices; one more UNet pass)" },
  'sa-lambda': { type: 'number', default: 0.1, help: 'SA weight λ' },
  'vit-size': { type: 'number', default: 224, help: 'side the ViT sees (a multiple of 14; 112 costs about a quarter of 224)' },
  'sa-every': { type: 'number', default: 1, help: 'SA on every k-th self-training iteration only (λ is not rescaled: its average weight becomes λ/k)' },
  'sa-subset': { type: 'number', default: 0, help: 'SA on at most n synthetic and n real images per step, half from each half-batch (0: all)' },
  'reload-optimizer': { type: 'boolean', default: true, help: 'bcp/sra-seg: self-training starts with the optimiser state of the best pre-training checkpoint, as published (--no-reload-optimizer: a fresh SGD)' },
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
    oneOf('sa-input', SA_INPUTS) ??
    oneOf('soft-loss-form', SOFT_LOSS_FORMS) ??
    oneOf('blend', BLENDS) ??
    (Number.isInteger(args['sa-every']) && (args['sa-every'] as number) >= 1 ? null : `--sa-every ${args['sa-every']}: must be an integer ≥ 1`) ??
    (Number.isInteger(args['sa-subset']) && (args['sa-subset'] as number) >= 0 ? null : `--sa-subset ${args['sa-subset']}: must be an integer ≥ 0 (0: the whole batch)`) ??
    (Number.isInteger(args['vit-size']) && (args['vit-size'] as number) > 0 && (args['vit-size'] as number) % 14 === 0
      ? null
      : `--vit-size ${args['vit-size']}: must be a positive multiple of DINOv2's 14-pixel patch (e.g. 112, 224)`) ??
    (args.method === 'sra-seg' && args.sa && !args.dinov2
      ? 'sra-seg: the SA loss needs DINOv2 weights: pass --dinov2 <file> (nothing is downloaded at run time), or --no-sa.'
      : null) ??
    (args.resume && !args.out ? '--resume needs --out <run folder>' : null)
  );
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
    softLossForm: args['soft-loss-form'] as SoftLossForm,
    blend: args.blend as BlendKernel,
    zeroPad: args['zero-pad'] as boolean,
    sa: args.method === 'sra-seg' && (args.sa as boolean),
    dinov2: args.dinov2 as string | undefined,
    saMode: args['sa-mode'] as SaMode,
    saInput: args['sa-input'] as SaInput,
    saLambda: args['sa-lambda'] as number,
    vitSize: args['vit-size'] as number,
    saEvery: args['sa-every'] as number,
    saSubset: args['sa-subset'] as number,
    reloadOptimizer: args['reload-optimizer'] as boolean,
  });
  return self;
}
