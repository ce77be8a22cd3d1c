// BCP and SRA-Seg: pre-training on mixed pairs of labeled slices, then self-training with an EMA
// teacher's pseudo-labels and bidirectional copy-paste between labeled and unlabeled slices
// (../shared/SRA-SEG-NOTES.md). SRA-Seg differs by the soft (smoothed) mask, labels blended with the
// same α, the soft Dice + soft CE loss, and in self-training the SA term against frozen DINOv2
// embeddings of the real labeled slices (src/sraseg/sa.ts).
import { add, backward, blend, concat, detach, Generator, greater, keep, loadModule, mul, oneHot, SGD, slice, softSegLoss, tensor, type Tensor, tidy } from '../engine/index.js';
import type { SegDataset } from '../data/dataset.js';
import { SeededRng, deriveSeed, type RngState } from '../data/rng.js';
import { TwoStreamBatchSampler, type TwoStreamSamplerState } from '../data/sampler.js';
import { UNet } from '../models/unet.js';
import { bcpMixLoss } from './bcp-loss.js';
import { mixingMask, type BlendKernel } from './mixing.js';
import { EmaTeacher, type TeacherMode } from './teacher.js';
import { SaTerm, type SaMode } from './sa.js';
import { loadDinov2 } from '../models/vit-weights.js';
import { prepareBatch } from '../train/batch.js';
import { openRunFolder, type RunFolderSpec } from '../train/run-folder.js';
import { runStage, type StageResult } from '../train/stage.js';
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
  blend: BlendKernel;
  /** Blend the image border too, as the published code's zero padding does. */
  zeroPad: boolean;
  /** The SA loss (eq. 15–16) in self-training; requires DINOv2 weights (`dinov2`). */
  sa: boolean;
  dinov2?: string;
  saMode?: SaMode;
  /** λ (0.1 in the paper). */
  saLambda?: number;
  /** Side of the images given to the ViT (224 by default). */
  vitSize?: number;
}

/** Uploaded halves of a batch: images [B/2, 1, S, S], labels i32 [B/2, S, S] and one-hot [B/2, C, S, S]. */
interface Halves {
  a: { image: Tensor; labels: Tensor; onehot: Tensor };
  b: { image: Tensor; labels: Tensor; onehot: Tensor };
}

function uploadHalves(data: SegDataset, indices: number[], size: number, rng: SeededRng): Halves {
  const { images, labels, shape } = prepareBatch(data, indices, size, rng);
  return tidy(() => {
    const x = tensor(images, shape);
    const y = tensor(labels, [shape[0], size, size], 'i32');
    const h = shape[0] >> 1;
    const half = (from: number, to: number) => {
      const l = slice(y, 0, from, to);
      return { image: slice(x, 0, from, to), labels: l, onehot: oneHot(l, data.numClasses, 1) };
    };
    return { a: half(0, h), b: half(h, shape[0]) };
  });
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
  openRunFolder(semiRunFolder(data, cfg));
  const soft = cfg.method === 'sra-seg' && cfg.softMix;
  const softLoss = cfg.method === 'sra-seg' && cfg.softLoss;
  const maskOptions = { blend: soft ? cfg.blend : ('none' as BlendKernel), zeroPad: cfg.zeroPad };
  const C = data.numClasses;

  // ---- Stage 1: pre-training on pairs of labeled slices ---------------------------------------
  const student = new UNet({ numClasses: C, seed: cfg.seed });
  if (cfg.init) loadModule(cfg.init, student);
  // Load the ViT first: a bad weights file must fail before hours of pre-training, not after.
  const sa = cfg.sa
    ? new SaTerm(loadDinov2(cfg.dinov2!), student.config.features[4], { mode: cfg.saMode ?? 'features', lambda: cfg.saLambda ?? 0.1, vitSize: cfg.vitSize }, new Generator(deriveSeed(cfg.seed, 5)))
    : null;
  let optimizer = new SGD(student.parameters(), cfg);
  let sampler = new TwoStreamBatchSampler(data.labeledIndices, [], cfg.labeledBatch, 0, deriveSeed(cfg.seed, 1));
  let rng = new SeededRng(deriveSeed(cfg.seed, 2));
  console.error(`${cfg.method}: UNet ${student.parameterCount().toLocaleString('en')} parameters · data: ${data.describe()}`);
  const stageCfg = (name: string, iterations: number) => ({
    out: `${cfg.out}/${name}`,
    iterations,
    valEvery: cfg.valEvery,
    logEvery: cfg.logEvery,
    size: cfg.size,
    resume: cfg.resume,
    valLimit: cfg.valLimit,
    validate: cfg.validate,
    describe: { method: cfg.method, stage: name, config: cfg },
  });
  const samplerState = () => ({ sampler: sampler.state(), rng: rng.state() });
  const restore = (s: unknown, unlabeled: readonly number[], ub: number) => {
    const st = s as { sampler: TwoStreamSamplerState; rng: RngState };
    sampler = new TwoStreamBatchSampler(data.labeledIndices, unlabeled, cfg.labeledBatch, ub, st.sampler);
    rng = SeededRng.fromState(st.rng);
  };

  const pre = cfg.preIterations === 0 ? null : await runStage(data, stageCfg('pretrain', cfg.preIterations), {
    student,
    optimizer,
    step: async () => {
      const indices = sampler.next().labeled;
      const { alpha } = mixingMask(cfg.size, cfg.size, rng, maskOptions);
      const loss = tidy(() => {
        const { a, b } = uploadHalves(data, indices, cfg.size, rng);
        const out = student.forward(blend(a.image, b.image, alpha));
        const l = softLoss
          ? softSegLoss(out, blend(a.onehot, b.onehot, alpha)).loss
          : bcpHalfLoss(out, a.labels, b.labels, hardMask(alpha), 1, 1);
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
  // The SA projection (features mode) trains with the student.
  optimizer = new SGD([...student.parameters(), ...(sa?.projection?.parameters() ?? [])], cfg);
  const teacher = EmaTeacher.forUNet(student, { alpha: cfg.emaAlpha, mode: cfg.teacherMode });
  sampler = new TwoStreamBatchSampler(data.labeledIndices, data.unlabeledIndices, cfg.labeledBatch, cfg.unlabeledBatch, deriveSeed(cfg.seed, 3));
  rng = new SeededRng(deriveSeed(cfg.seed, 4));
  try {
    const self = await runStage(data, stageCfg('selftrain', cfg.selfIterations), {
      student,
      optimizer,
      extraModules: sa?.projection ? { teacher: teacher.model, sa_projection: sa.projection } : { teacher: teacher.model },
      step: async () => {
        const batch = sampler.next();
        const { alpha } = mixingMask(cfg.size, cfg.size, rng, maskOptions);
        const lab = uploadHalves(data, batch.labeled, cfg.size, rng);
        const unl = uploadHalves(data, batch.unlabeled, cfg.size, rng); // their labels are never used
        // Teacher pseudo-labels for both unlabeled halves (one read-back for the component filter).
        const pa = await teacher.pseudoLabels(unl.a.image, { largestComponent: cfg.largestComponent });
        const pb = await teacher.pseudoLabels(unl.b.image, { largestComponent: cfg.largestComponent });
        const logs: Record<string, Tensor> = {};
        const loss = tidy(() => {
          // Bidirectional copy-paste: α = 1 outside the box.
          const outUnl = student.forward(blend(unl.a.image, lab.a.image, alpha)); // unlabeled outside, labeled box
          const outLab = student.forward(blend(lab.b.image, unl.b.image, alpha)); // labeled outside, unlabeled box
          let l: Tensor;
          if (softLoss) {
            l = add(softSegLoss(outUnl, blend(pa.oneHot, lab.a.onehot, alpha)).loss, softSegLoss(outLab, blend(lab.b.onehot, pb.oneHot, alpha)).loss);
          } else {
            const m = hardMask(alpha);
            l = add(bcpHalfLoss(outUnl, pa.labels, lab.a.labels, m, 0.5, 1), bcpHalfLoss(outLab, lab.b.labels, pb.labels, m, 1, 0.5));
          }
          if (sa) {
            // Synthetic (unlabeled) representations toward the nearest real labeled ones.
            const term = sa.loss(student, concat([unl.a.image, unl.b.image], 0), concat([lab.a.image, lab.b.image], 0), concat([lab.a.onehot, lab.b.onehot], 0));
            logs.sa = keep(detach(term));
            l = add(l, term);
          }
          backward(l);
          optimizer.step();
          optimizer.zeroGrad();
          return keep(l);
        });
        teacher.update(student);
        for (const t of [alpha, pa.labels, pa.oneHot, pb.labels, pb.oneHot, ...tensorsOf(lab), ...tensorsOf(unl)]) t.dispose();
        return { loss, logs };
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
    sa?.dispose();
    sa?.vit.dispose();
    teacher.dispose();
    optimizer.dispose();
    student.dispose();
  }
}

/** BCP's (Dice + CE)/2 of one mixed half, with weights for the region outside (M = 1) and inside the box. */
function bcpHalfLoss(logits: Tensor, outside: Tensor, inside: Tensor, mask: Tensor, wOutside: number, wInside: number): Tensor {
  const { dice, ce } = bcpMixLoss(logits, outside, inside, mask, { imageWeight: wOutside, patchWeight: wInside });
  return mul(add(dice, ce), 0.5);
}

/** The hard mask M (1 outside the box) of a possibly smoothed α. */
function hardMask(alpha: Tensor): Tensor {
  return greater(alpha, tensor([0.5], [1]));
}

function tensorsOf(h: Halves): Tensor[] {
  return [h.a.image, h.a.labels, h.a.onehot, h.b.image, h.b.labels, h.b.onehot];
}
