// BCP and SRA-Seg: pre-training on mixed pairs of labeled slices, then self-training with an EMA
// teacher's pseudo-labels and bidirectional copy-paste between labeled and unlabeled slices
// (docs/METHOD.md). SRA-Seg differs by the soft (smoothed) mask, labels blended with the same α, the
// soft Dice + soft CE loss, and in self-training the SA term (src/sraseg/sa.ts). The steps themselves
// are in src/sraseg/steps.ts, shared with bench/sraseg-step.js and the method tests.
import { existsSync } from 'node:fs';
import { backward, keep, loadModule, SGD, type SoftLossForm, tidy } from '../engine/index.js';
import type { SegDataset } from '../data/dataset.js';
import { SeededRng, deriveSeed, type RngState } from '../data/rng.js';
import { TwoStreamBatchSampler, type TwoStreamSamplerState } from '../data/sampler.js';
import { UNet } from '../models/unet.js';
import { loadUNetWeights } from '../models/unet-weights.js';
import { mixingMask, type BlendKernel } from './mixing.js';
import { EmaTeacher, type TeacherMode } from './teacher.js';
import { dinov2Embedder, SaTerm, type SaMode } from './sa.js';
import { disposeHalves, preTrainLoss, type SaInput, selfTrainParameters, SelfTrainStep, uploadHalves } from './steps.js';
import { loadDinov2 } from '../models/vit-weights.js';
import { evaluateVolumes } from '../train/evaluate.js';
import { openRunFolder, type RunFolderSpec } from '../train/run-folder.js';
import { runStage, type StageResult, type Validator } from '../train/stage.js';
import type { RunConfig } from '../train/supervised.js';

export type SemiMethod = 'bcp' | 'sra-seg';

export interface SemiConfig extends RunConfig {
  method: SemiMethod;
  /** Pre-training iterations; 0 skips pre-training (then `init` should give a trained student). */
  preIterations: number;
  selfIterations: number;
  /** Labeled and unlabeled slices per batch, each split into halves a and b (12 + 12 published). */
  labeledBatch: number;
  unlabeledBatch: number;
  emaAlpha: number;
  teacherMode: TeacherMode;
  /** Keep only the largest connected component per class in pseudo-labels (as published). */
  largestComponent: boolean;
  /** SRA-Seg ablation switches (Table 3): smoothed mask + blended labels, soft Dice + soft CE. */
  softMix: boolean;
  softLoss: boolean;
  /** Which soft Dice + CE: the published code's (default) or the paper's eq. 13–14. */
  softLossForm?: SoftLossForm;
  blend: BlendKernel;
  /** Blend the image border too, as the published code's zero padding does. */
  zeroPad: boolean;
  /** The SA loss (eq. 15–16) in self-training; requires DINOv2 weights (`dinov2`). */
  sa: boolean;
  dinov2?: string;
  /** Default 'prediction'. */
  saMode?: SaMode;
  /** Synthetic side of SA (default 'mixed', paper §3.4). */
  saInput?: SaInput;
  /** λ (0.1 in the paper). */
  saLambda?: number;
  /** Side of the images given to the ViT (224 by default). */
  vitSize?: number;
  /** SA every k-th self-training iteration (default 1). */
  saEvery?: number;
  /** SA on at most n synthetic and n real images per step (default 0: all). */
  saSubset?: number;
  /**
   * Self-training starts with the optimiser state saved at the best pre-training validation, as the
   * published code does (default true); false starts a fresh SGD. Without pre-training in this run
   * (`preIterations` 0) there is nothing to reload and it starts fresh either way.
   */
  reloadOptimizer?: boolean;
}

/** The run folder of a BCP/SRA-Seg run: config.json in `out`, a stage folder each for pre-training and self-training. */
export function semiRunFolder(data: SegDataset, cfg: SemiConfig): RunFolderSpec {
  return {
    out: cfg.out,
    resume: cfg.resume,
    allowConfigChanges: cfg.allowConfigChanges,
    stages: cfg.preIterations === 0 ? ['selftrain'] : ['pretrain', 'selftrain'],
    config: { ...cfg, data: data.describe() },
  };
}

export async function trainSemiSupervised(data: SegDataset, cfg: SemiConfig): Promise<{ pre: StageResult | null; self: StageResult }> {
  if (cfg.sa && !cfg.dinov2) {
    throw new Error(
      'the SA loss needs DINOv2 weights: pass --dinov2 <file> (the torch-hub dinov2_vits14_pretrain.pth or a ' +
        "Hugging Face model.safetensors; nothing is downloaded at run time), or train without it with --no-sa.",
    );
  }
  if (cfg.labeledBatch % 2 || cfg.unlabeledBatch % 2) throw new Error('labeled and unlabeled batch sizes must be even (halves a and b)');
  if (cfg.labeledBatch !== cfg.unlabeledBatch) throw new Error('labeled and unlabeled batch sizes must be equal: each mixed image pairs one labeled with one unlabeled slice');
  openRunFolder(semiRunFolder(data, cfg));
  const soft = cfg.method === 'sra-seg' && cfg.softMix;
  const lossOptions = { softLoss: cfg.method === 'sra-seg' && cfg.softLoss, softLossForm: cfg.softLossForm ?? 'published' };
  const maskOptions = { blend: soft ? cfg.blend : ('none' as BlendKernel), zeroPad: cfg.zeroPad };
  const selfOptions = {
    ...lossOptions,
    largestComponent: cfg.largestComponent,
    saInput: cfg.saInput ?? 'mixed',
    saEvery: cfg.saEvery ?? 1,
    saSubset: cfg.saSubset ?? 0,
  };
  const C = data.numClasses;

  // ---- Stage 1: pre-training on pairs of labeled slices ---------------------------------------
  const student = new UNet({ numClasses: C, seed: cfg.seed });
  if (cfg.init) loadUNetWeights(cfg.init, student);
  // Load the ViT first: a bad weights file must fail before hours of pre-training, not after.
  const sa = cfg.sa ? new SaTerm(dinov2Embedder(loadDinov2(cfg.dinov2!), cfg.vitSize ?? 224), { mode: cfg.saMode ?? 'prediction', lambda: cfg.saLambda ?? 0.1 }) : null;
  let optimizer = new SGD(student.parameters(), cfg);
  let sampler = new TwoStreamBatchSampler(data.labeledIndices, [], cfg.labeledBatch, 0, deriveSeed(cfg.seed, 1));
  let rng = new SeededRng(deriveSeed(cfg.seed, 2));
  console.error(`${cfg.method}: UNet ${student.parameterCount().toLocaleString('en')} parameters · data: ${data.describe()}`);
  const stageCfg = (name: string, iterations: number, validate?: Validator) => ({
    out: `${cfg.out}/${name}`,
    iterations,
    valEvery: cfg.valEvery,
    logEvery: cfg.logEvery,
    size: cfg.size,
    resume: cfg.resume,
    valLimit: cfg.valLimit,
    valSplit: cfg.valSplit,
    validate: validate ?? cfg.validate,
    describe: { method: cfg.method, stage: name, config: cfg },
  });
  const samplerState = () => ({ sampler: sampler.state(), rng: rng.state() });
  const restore = (s: unknown, unlabeled: readonly number[], ub: number) => {
    const st = s as { sampler: TwoStreamSamplerState; rng: RngState };
    sampler = new TwoStreamBatchSampler(data.labeledIndices, unlabeled, cfg.labeledBatch, ub, st.sampler);
    rng = SeededRng.fromState(st.rng);
  };

  const pre = cfg.preIterations === 0 ? null : await runStage(data, { ...stageCfg('pretrain', cfg.preIterations), keepBestOptimizer: true }, {
    student,
    optimizer,
    step: async () => {
      const indices = sampler.next().labeled;
      const { alpha } = mixingMask(cfg.size, cfg.size, rng, maskOptions);
      const loss = tidy(() => {
        const { a, b } = uploadHalves(data, indices, cfg.size, rng);
        const l = preTrainLoss(student, a, b, alpha, lossOptions);
        backward(l);
        optimizer.step();
        optimizer.zeroGrad();
        return keep(l);
      });
      alpha.dispose();
      return { loss };
    },
    getState: samplerState,
    setState: (s) => restore(s, [], 0),
  });
  optimizer.dispose();

  // ---- Stage 2: self-training from the best pre-trained student (or the initial one) -------------
  if (pre) loadModule(pre.bestCheckpoint, student);
  // The stage's own dropout stream: self-training depends on its starting weights and the seed only,
  // not on how many pre-training steps (if any) drew from the stream before.
  student.generator.setState({ seed: deriveSeed(cfg.seed, 6), offset: 0 });
  // Only the student trains: the SA term has no parameters of its own (selfTrainParameters says so).
  optimizer = new SGD(selfTrainParameters(student, sa), cfg);
  if (pre?.bestOptimizer && (cfg.reloadOptimizer ?? true)) {
    // As published: the optimiser state of the best pre-training checkpoint (its momentum buffers),
    // kept in the pre-training stage's own checkpoint.
    optimizer.loadStateDict(pre.bestOptimizer);
    optimizer.lr = cfg.lr;
  }
  const teacher = EmaTeacher.forUNet(student, { alpha: cfg.emaAlpha, mode: cfg.teacherMode });
  const step = new SelfTrainStep(student, teacher, optimizer, sa, selfOptions);
  sampler = new TwoStreamBatchSampler(data.labeledIndices, data.unlabeledIndices, cfg.labeledBatch, cfg.unlabeledBatch, deriveSeed(cfg.seed, 3));
  rng = new SeededRng(deriveSeed(cfg.seed, 4));
  try {
    const self = await runStage(data, stageCfg('selftrain', cfg.selfIterations), {
      student,
      optimizer,
      extraModules: { teacher: teacher.model },
      step: async (it) => {
        const indices = sampler.next();
        const { alpha } = mixingMask(cfg.size, cfg.size, rng, maskOptions);
        const lab = uploadHalves(data, indices.labeled, cfg.size, rng);
        const unl = uploadHalves(data, indices.unlabeled, cfg.size, rng); // their labels are never used
        try {
          return await step.run({ lab, unl, alpha }, it);
        } finally {
          alpha.dispose();
          disposeHalves(lab);
          disposeHalves(unl);
        }
      },
      // The teacher's dropout stream too: it runs in train mode when making pseudo-labels.
      getState: () => ({ ...samplerState(), teacherDropout: teacher.model.generator.state() }),
      setState: (s) => {
        restore(s, data.unlabeledIndices, cfg.unlabeledBatch);
        teacher.model.generator.setState((s as { teacherDropout: { seed: number; offset: number } }).teacherDropout);
      },
    });
    return { pre, self };
  } finally {
    if (sa) (sa.embedder as { vit?: { dispose(): void } }).vit?.dispose();
    teacher.dispose();
    optimizer.dispose();
    student.dispose();
  }
}
