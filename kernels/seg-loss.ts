// SRA-Seg's soft segmentation loss (shaders/seg-loss.wgsl): soft Dice + soft cross-entropy from
// logits and a soft target, fused — a partial-sums pass over pixel chunks, a one-workgroup finalize
// that also keeps the Dice statistics, and one backward pass per pixel with the softmax recomputed
// inside. Two forms (docs/METHOD.md): 'published' (the authors' code: Dice per sample and class, CE
// averaged over pixels) and 'paper' (eq. 13–14: one Dice ratio over the batch, CE summed); they share
// the partial sums and differ in the finalize kernel and the gradient's scales. Key: the form, the
// class count, the clamp switch and the pixels per invocation (all change the WGSL); sizes travel in
// uniforms. `softSegLossComposed` is the same loss written in the general
// differentiable ops: the reference for tests, the fallback beyond the fused kernels' loop budget, and
// the form to use where a second derivative is needed (the fused backward is first-order only).
import source from '../shaders/seg-loss.wgsl';
import { isGradEnabled, record } from '../src/engine/autograd/graph.js';
import { sameShape, ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { expectDtype, grid1d, kernel, out, run, sections } from './common.js';
import { add, clamp, detach, div, log, mul, rsub } from './elementwise.js';
import { sum } from './reduce.js';
import { mean } from './reduce-stats.js';
import { loopCapApplies, LOOP_BUDGET } from './loop-budget.js';
import { logSoftmax, softmax } from './softmax.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 64;
/**
 * Loop iterations per invocation the `partials` kernel spends on its chunk's pixels and its sums: a
 * chunk of about 2,000 pixels at 4 classes, some 30 workgroups per 256² plane (its parallelism).
 */
const PARTIALS_TRIPS = 512;
/** Classes held in per-invocation arrays by the fused kernels. */
const MAX_FUSED_CLASSES = 32;
/** Bounds of the published clamping of probabilities and targets. */
export const SOFT_SEG_CLAMP: readonly [number, number] = [1e-6, 1 - 1e-6];

const PARAMS = uniforms('Params', { B: 'u32', plane: 'u32', chunks: 'u32', chunkPixels: 'u32', eps: 'f32' });

/** 'published': the authors' code; 'paper': eq. 13–14 as printed. */
export type SoftLossForm = 'published' | 'paper';

export const SOFT_LOSS_FORMS: readonly SoftLossForm[] = ['published', 'paper'];

export interface SoftSegLossOptions {
  /** Which Dice and CE (default 'published'). */
  form?: SoftLossForm;
  /**
   * Clamp softmax and target to [1e−6, 1 − 1e−6] as the published code does (default: on in the
   * published form, off in the paper's, which states no clamp; its log p is then exact).
   */
  clamp?: boolean;
  /** Added to each Dice denominator (default 1e−6). */
  eps?: number;
}

export interface SoftSegLoss {
  /** Scalar Dice + CE, differentiable in the logits (the target is a constant). */
  loss: Tensor;
  /** The two terms for logging (not differentiable). */
  dice: Tensor;
  ce: Tensor;
}

function check(logits: Tensor, target: Tensor): void {
  const op = 'softSegLoss';
  expectDtype(op, logits, 'f32');
  expectDtype(op, target, 'f32');
  if (logits.rank !== 4 || !sameShape(logits.shape, target.shape) || logits.size === 0) {
    throw new ShapeError(op, 'logits and target must be non-empty [B, C, H, W] of the same shape', [logits.shape, target.shape]);
  }
}

function resolve(options: SoftSegLossOptions): { form: SoftLossForm; clampOn: boolean; eps: number } {
  const form = options.form ?? 'published';
  if (!SOFT_LOSS_FORMS.includes(form)) throw new Error(`softSegLoss: unknown form '${form}' (expected ${SOFT_LOSS_FORMS.join(' | ')})`);
  return { form, clampOn: options.clamp ?? form === 'published', eps: options.eps ?? 1e-6 };
}

/**
 * Soft Dice + soft CE (eq. 12–14). Published form: Dice per sample and class with a linear
 * denominator, 1 − mean over B×C (background included); CE = −Σ_c t·log p averaged over pixels.
 * Paper form: Dice = 1 − 2·Σ p·t / (Σ p + Σ t + eps) with every sum over (b, c, x, y); CE =
 * −Σ_{b,c,x,y} t·log p.
 */
export function softSegLoss(logits: Tensor, target: Tensor, options: SoftSegLossOptions = {}): SoftSegLoss {
  check(logits, target);
  const { form, clampOn, eps } = resolve(options);
  const paper = form === 'paper';
  const [B, C, H, W] = logits.shape;
  const plane = H * W;
  // Pixels per invocation: each pixel loops 3C + 2 times; clearing, staging and tree-reducing the
  // K = 3C + 1 sums about 3K more.
  const K = 3 * C + 1;
  const ppt = Math.floor((PARTIALS_TRIPS - 3 * K) / (3 * C + 2));
  const chunkPixels = WG * Math.max(ppt, 1);
  const chunks = Math.ceil(plane / chunkPixels);
  // `finalize` is one workgroup: each invocation walks its share of the (sample, class) pairs over
  // every chunk, then of the (sample, chunk) CE terms; the first adds up the WG partial results.
  const finalizeTrips = Math.ceil((B * C) / WG) * (chunks + 1) + Math.ceil((B * chunks) / WG) + WG;
  const tooLong = loopCapApplies() && finalizeTrips > LOOP_BUDGET;
  if (C > MAX_FUSED_CLASSES || ppt < 1 || tooLong || chunks > 65535 || B > 65535) {
    return softSegLossComposed(logits, target, options);
  }
  const [lo, hi] = SOFT_SEG_CLAMP;
  const key = `segLoss:${form}:C${C}:${clampOn ? 'clamp' : 'raw'}:${ppt}`;
  const spec = (name: 'partials' | 'finalize' | 'finalize_paper' | 'grad') =>
    kernel(`${key}:${name}`, PARAMS, WG, () => ({
      body: SRC[name],
      consts: { C: ['u32', C], CLAMP: ['bool', clampOn], PAPER: ['bool', paper], LO: ['f32', lo], HI: ['f32', hi], PPT: ['u32', ppt] },
    }));
  const p = { B, plane, chunks, chunkPixels, eps };

  const partials = out([B, chunks, 3 * C + 1], 'f32', 'softSegLoss.partials');
  run(spec('partials'), [logits, target, partials], p, [chunks, B, 1], 'softSegLoss');
  // Dice statistics (I, D): per (sample, class) in the published form, one pair in the paper's.
  const stats = out(paper ? [2] : [B, C, 2], 'f32', 'softSegLoss.stats');
  const loss = out([], 'f32', 'softSegLoss');
  const dice = out([], 'f32', 'softSegLoss.dice');
  const ce = out([], 'f32', 'softSegLoss.ce');
  run(spec(paper ? 'finalize_paper' : 'finalize'), [partials, stats, loss, dice, ce], p, [1, 1, 1], 'softSegLoss');
  partials.dispose();

  record(loss, 'softSegLoss', [logits], [logits, target, stats], (g, [x, t, st]) => {
    // The fused backward is first-order only; a second derivative needs the composed loss.
    if (isGradEnabled()) throw new Error('softSegLoss: createGraph is not supported by the fused kernel; use softSegLossComposed');
    const dx = out(x.shape, 'f32', 'softSegLossGrad');
    run(spec('grad'), [x, t, st, g, dx], p, grid1d(B * plane, WG), 'softSegLoss');
    return [dx];
  });
  stats.dispose();
  return { loss, dice, ce };
}

/** The same loss from the general differentiable ops (softmax, clamp, products, sums, log). */
export function softSegLossComposed(logits: Tensor, target: Tensor, options: SoftSegLossOptions = {}): SoftSegLoss {
  check(logits, target);
  const [lo, hi] = SOFT_SEG_CLAMP;
  const { form, clampOn, eps } = resolve(options);
  const probs = softmax(logits, 1);
  const q = clampOn ? clamp(probs, lo, hi) : probs;
  const t = clampOn ? clamp(target, lo, hi) : target;
  if (form === 'paper') {
    // Unclamped, log q is log_softmax itself: exact where softmax underflows.
    const logq = clampOn ? log(q) : logSoftmax(logits, 1);
    const ratio = div(mul(sum(mul(q, t)), 2), add(add(sum(q), sum(t)), eps));
    const dice = rsub(1, ratio);
    const ce = mul(sum(mul(t, logq)), -1);
    return { loss: add(dice, ce), dice: detach(dice), ce: detach(ce) };
  }
  const pixels = [2, 3];
  const inter = sum(mul(q, t), pixels);
  const den = add(add(sum(q, pixels), sum(t, pixels)), eps);
  const dice = rsub(1, mean(div(mul(inter, 2), den)));
  const [B, , H, W] = logits.shape;
  const ce = mul(sum(mul(t, log(q))), -1 / (B * H * W));
  return { loss: add(dice, ce), dice: detach(dice), ce: detach(ce) };
}
