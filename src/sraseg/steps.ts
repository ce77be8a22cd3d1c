// One training step of BCP and SRA-Seg, as functions of their inputs so that the trainer
// (src/sraseg/train.ts), the step benchmark (bench/sraseg-step.js) and the method tests run the same
// code. Which image goes with which label, which region carries which weight, which α blends what,
// and which images the SA term sees are all decided here (docs/METHOD.md, equation by equation).
import { add, backward, blend, concat, detach, greater, keep, mul, oneHot, type Optimizer, slice, type SoftLossForm, softSegLoss, tensor, type Tensor, tidy } from '../engine/index.js';
import type { SegDataset } from '../data/dataset.js';
import type { SeededRng } from '../data/rng.js';
import type { UNet } from '../models/unet.js';
import { prepareBatch } from '../train/batch.js';
import { bcpMixLoss } from './bcp-loss.js';
import type { PseudoLabels } from './pseudo-labels.js';
import type { SaNetwork, SaResult, SaTerm } from './sa.js';
import type { EmaTeacher, SegmentationModel } from './teacher.js';

/** Which images the SA term embeds on the synthetic side. */
export type SaInput = 'mixed' | 'unlabeled';
export const SA_INPUTS: readonly SaInput[] = ['mixed', 'unlabeled'];

/** One half (a or b) of a batch: images [n, 1, S, S], labels i32 [n, S, S] and their one-hot [n, C, S, S]. */
export interface Half {
  image: Tensor;
  labels: Tensor;
  onehot: Tensor;
}

export interface Halves {
  a: Half;
  b: Half;
}

/** The loss options shared by both stages. */
export interface LossOptions {
  /** SRA-Seg's soft Dice + soft CE on blended one-hot labels; false: BCP's hard-label loss. */
  softLoss: boolean;
  softLossForm: SoftLossForm;
}

export interface SelfTrainOptions extends LossOptions {
  /** Pseudo-labels keep only the largest connected component per class (published). */
  largestComponent: boolean;
  /** Synthetic side of SA: the two mixed images the loss trains on (paper §3.4), or the raw unlabeled ones. */
  saInput: SaInput;
  /** SA every k-th iteration only (1: every iteration). */
  saEvery: number;
  /** SA on at most n synthetic and n real images (0: all), taken from both halves. */
  saSubset: number;
}

/** A batch's halves uploaded: prepared (augmented, zoomed) on the CPU, split into a and b. */
export function uploadHalves(data: SegDataset, indices: number[], size: number, rng: SeededRng): Halves {
  const { images, labels, shape } = prepareBatch(data, indices, size, rng);
  return tidy(() => {
    const x = tensor(images, shape);
    const y = tensor(labels, [shape[0], size, size], 'i32');
    const h = shape[0] >> 1;
    const half = (from: number, to: number): Half => {
      const l = slice(y, 0, from, to);
      return { image: slice(x, 0, from, to), labels: l, onehot: oneHot(l, data.numClasses, 1) };
    };
    return { a: half(0, h), b: half(h, shape[0]) };
  });
}

export function disposeHalves(h: Halves): void {
  for (const t of [h.a.image, h.a.labels, h.a.onehot, h.b.image, h.b.labels, h.b.onehot]) t.dispose();
}

/** The hard mask M (1 outside the box) of a possibly smoothed α. */
export function hardMask(alpha: Tensor): Tensor {
  return greater(alpha, tensor([0.5], [1]));
}

/** BCP's (Dice + CE)/2 of one mixed image batch: weights for the region outside the box (M = 1) and inside it. */
function bcpHalfLoss(logits: Tensor, outside: Tensor, inside: Tensor, mask: Tensor, wOutside: number, wInside: number): Tensor {
  const { dice, ce } = bcpMixLoss(logits, outside, inside, mask, { imageWeight: wOutside, patchWeight: wInside });
  return mul(add(dice, ce), 0.5);
}

/**
 * Pre-training on pairs of labeled slices: the mixed image a·α + b·(1 − α) (a outside the box, b
 * inside). BCP: a's labels outside, b's inside, both weight 1. SRA-Seg: the one-hots blended with the
 * same α, soft loss.
 */
export function preTrainLoss(student: { forward(x: Tensor): Tensor }, a: Half, b: Half, alpha: Tensor, o: LossOptions): Tensor {
  const out = student.forward(blend(a.image, b.image, alpha));
  return o.softLoss
    ? softSegLoss(out, blend(a.onehot, b.onehot, alpha), { form: o.softLossForm }).loss
    : bcpHalfLoss(out, a.labels, b.labels, hardMask(alpha), 1, 1);
}

/** The teacher's pseudo-labels of the two unlabeled halves (in that order). */
export interface PseudoPair {
  a: PseudoLabels;
  b: PseudoLabels;
}

export async function pseudoLabelPair<M extends SegmentationModel>(teacher: EmaTeacher<M>, unl: Halves, largestComponent: boolean): Promise<PseudoPair> {
  const a = await teacher.pseudoLabels(unl.a.image, { largestComponent });
  const b = await teacher.pseudoLabels(unl.b.image, { largestComponent });
  return { a, b };
}

export function disposePseudo(p: PseudoPair): void {
  for (const t of [p.a.labels, p.a.oneHot, p.b.labels, p.b.oneHot]) t.dispose();
}

export interface SelfTrainBatch {
  lab: Halves;
  unl: Halves;
  /** f32 [1, 1, S, S]: 1 outside the box (smoothed at its edge in SRA-Seg). */
  alpha: Tensor;
}

export interface SegmentationPart {
  /** The segmentation loss of both mixed images. */
  loss: Tensor;
  /** Ṽ1 (unlabeled outside, labeled box; eq. 6/10) and Ṽ2 (labeled outside, unlabeled box; eq. 7/11). */
  mixed: [Tensor, Tensor];
  /** The student's forward on each. */
  out: [{ logits: Tensor; bottleneck: Tensor }, { logits: Tensor; bottleneck: Tensor }];
}

/**
 * Bidirectional copy-paste (eq. 6–11) and its loss. Ṽ1 = α·U_a + (1 − α)·L_a with target
 * L̃1 = α·P_a + (1 − α)·Y_a; Ṽ2 = α·L_b + (1 − α)·U_b with L̃2 = α·Y_b + (1 − α)·P_b (U unlabeled, L
 * labeled, P pseudo-labels of U, Y ground truth of L). SRA-Seg: soft loss on L̃1 + on L̃2. BCP: hard
 * labels, pseudo-labelled pixels weigh 0.5 and ground-truth pixels 1, (Dice + CE)/2 per image.
 */
export function mixedSegmentation(student: SaNetwork, batch: SelfTrainBatch, pseudo: PseudoPair, o: LossOptions): SegmentationPart {
  const { lab, unl, alpha } = batch;
  const v1 = blend(unl.a.image, lab.a.image, alpha);
  const v2 = blend(lab.b.image, unl.b.image, alpha);
  const o1 = student.forwardAll(v1);
  const o2 = student.forwardAll(v2);
  let loss: Tensor;
  if (o.softLoss) {
    const t1 = blend(pseudo.a.oneHot, lab.a.onehot, alpha);
    const t2 = blend(lab.b.onehot, pseudo.b.oneHot, alpha);
    loss = add(softSegLoss(o1.logits, t1, { form: o.softLossForm }).loss, softSegLoss(o2.logits, t2, { form: o.softLossForm }).loss);
  } else {
    const m = hardMask(alpha);
    loss = add(bcpHalfLoss(o1.logits, pseudo.a.labels, lab.a.labels, m, 0.5, 1), bcpHalfLoss(o2.logits, lab.b.labels, pseudo.b.labels, m, 1, 0.5));
  }
  return { loss, mixed: [v1, v2], out: [o1, o2] };
}

/** The first ⌈n/2⌉ rows of `a` and ⌊n/2⌋ of `b` (all of both when n is 0 or covers them). */
function fromBoth(a: Tensor, b: Tensor, n: number): Tensor {
  if (!n || n >= a.shape[0] + b.shape[0]) return concat([a, b], 0);
  const na = Math.min(a.shape[0], Math.ceil(n / 2));
  const nb = Math.min(b.shape[0], n - na);
  return nb ? concat([slice(a, 0, 0, na), slice(b, 0, 0, nb)], 0) : slice(a, 0, 0, na);
}

/** Whether iteration `it` (0-based) computes the SA term. */
export function saDue(it: number, every: number): boolean {
  return it % every === 0;
}

/**
 * The SA term's inputs and value. Synthetic side: the two mixed images and the student's forward on
 * them (saInput 'mixed', paper §3.4), or the raw unlabeled images (a further student forward). Real
 * side: the labeled images and their ground truth. `saSubset` n keeps ⌈n/2⌉ rows of the first half
 * (Ṽ1 or U_a; L_a) and ⌊n/2⌋ of the second (Ṽ2 or U_b; L_b).
 */
export function alignment(sa: SaTerm, student: SaNetwork, batch: SelfTrainBatch, seg: SegmentationPart, o: SelfTrainOptions): SaResult {
  const n = o.saSubset;
  const real = fromBoth(batch.lab.a.image, batch.lab.b.image, n);
  const realOneHot = fromBoth(batch.lab.a.onehot, batch.lab.b.onehot, n);
  if (o.saInput === 'unlabeled') return sa.loss(student, { synthetic: fromBoth(batch.unl.a.image, batch.unl.b.image, n), real, realOneHot });
  const [o1, o2] = seg.out;
  return sa.loss(student, {
    synthetic: fromBoth(seg.mixed[0], seg.mixed[1], n),
    syntheticOut: { logits: fromBoth(o1.logits, o2.logits, n), bottleneck: fromBoth(o1.bottleneck, o2.bottleneck, n) },
    real,
    realOneHot,
  });
}

export interface SelfTrainLoss {
  /** Segmentation loss + λ·L_SA (what is differentiated). */
  total: Tensor;
  seg: Tensor;
  /** Null on iterations without SA. */
  sa: SaResult | null;
}

/** The SA term of iteration `it`: null when there is none or it is not due (--sa-every). */
export function alignmentIfDue(sa: SaTerm | null, student: SaNetwork, batch: SelfTrainBatch, seg: SegmentationPart, o: SelfTrainOptions, it: number): SaResult | null {
  return sa && saDue(it, o.saEvery) ? alignment(sa, student, batch, seg, o) : null;
}

/** Eq. §3.4: L = L_seg + λ·L_SA (λ is applied by the SA term). */
export function combineLosses(seg: SegmentationPart, sa: SaResult | null): SelfTrainLoss {
  return { total: sa ? add(seg.loss, sa.weighted) : seg.loss, seg: seg.loss, sa };
}

/** The whole self-training objective of iteration `it`. */
export function selfTrainLoss(student: SaNetwork, batch: SelfTrainBatch, pseudo: PseudoPair, sa: SaTerm | null, o: SelfTrainOptions, it: number): SelfTrainLoss {
  const seg = mixedSegmentation(student, batch, pseudo, o);
  return combineLosses(seg, alignmentIfDue(sa, student, batch, seg, o, it));
}

/** The UNet as the SA term's network: one forward for logits + bottleneck, the encoder alone for the bottleneck. */
export function unetSaNetwork(unet: UNet): SaNetwork {
  return { forwardAll: (x) => unet.forwardAll(x), encode: (x) => tidy(() => unet.encoder.forward(x)[4]) };
}

/** Every parameter self-training updates: the student's, and whatever the SA term could train (none). */
export function selfTrainParameters(student: UNet, sa: SaTerm | null): Tensor[] {
  return [...student.parameters(), ...(sa?.trainableParameters() ?? [])];
}

/**
 * The self-training step the trainer runs and the benchmark times, phase by phase: the teacher's
 * pseudo-labels, the loss (mixed forward and SA), backward + SGD, the EMA update.
 */
export class SelfTrainStep {
  readonly network: SaNetwork;

  constructor(
    readonly student: UNet,
    readonly teacher: EmaTeacher<UNet>,
    readonly optimizer: Optimizer,
    readonly sa: SaTerm | null,
    readonly options: SelfTrainOptions,
  ) {
    if (!(Number.isInteger(options.saEvery) && options.saEvery >= 1)) throw new Error(`--sa-every ${options.saEvery}: must be an integer ≥ 1`);
    if (!(Number.isInteger(options.saSubset) && options.saSubset >= 0)) throw new Error(`--sa-subset ${options.saSubset}: must be an integer ≥ 0 (0: the whole batch)`);
    this.network = unetSaNetwork(student);
  }

  pseudoLabels(unl: Halves): Promise<PseudoPair> {
    return pseudoLabelPair(this.teacher, unl, this.options.largestComponent);
  }

  /** The mixed images, the student's forward on them and the segmentation loss (inside a tidy). */
  segmentation(batch: SelfTrainBatch, pseudo: PseudoPair): SegmentationPart {
    return mixedSegmentation(this.network, batch, pseudo, this.options);
  }

  /** The SA term of iteration `it`, or null when SA is off or not due. */
  alignment(batch: SelfTrainBatch, seg: SegmentationPart, it: number): SaResult | null {
    return alignmentIfDue(this.sa, this.network, batch, seg, this.options, it);
  }

  /** The loss of iteration `it` (call inside a tidy; the graph stays until `update`). */
  loss(batch: SelfTrainBatch, pseudo: PseudoPair, it: number): SelfTrainLoss {
    return selfTrainLoss(this.network, batch, pseudo, this.sa, this.options, it);
  }

  /** Backward of the total and one optimiser step. */
  update(total: Tensor): void {
    backward(total);
    this.optimizer.step();
    this.optimizer.zeroGrad();
  }

  ema(): void {
    this.teacher.update(this.student);
  }

  /** All phases; returns the total loss and the unweighted SA term (when computed), both owned by the caller. */
  async run(batch: SelfTrainBatch, it: number): Promise<{ loss: Tensor; logs: Record<string, Tensor> }> {
    const pseudo = await this.pseudoLabels(batch.unl);
    const logs: Record<string, Tensor> = {};
    const loss = tidy(() => {
      const l = this.loss(batch, pseudo, it);
      if (l.sa) logs.sa = keep(detach(l.sa.term));
      this.update(l.total);
      return keep(l.total);
    });
    this.ema();
    disposePseudo(pseudo);
    return { loss, logs };
  }
}
