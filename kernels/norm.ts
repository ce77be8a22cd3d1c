// Batch normalisation (NCHW, PyTorch semantics) and layer normalisation, as fused kernels
// (shaders/norm.wgsl). Keys are the kernel names (plus `:leaky` where a LeakyReLU is fused after the
// BatchNorm); sizes, eps, momentum and the slope travel in uniforms.
// The backward rules are fused kernels for first order; neither op supports a second derivative
// (they throw under createGraph rather than return a silently wrong one).
import source from '../shaders/norm.wgsl';
import { isGradEnabled, record } from '../src/engine/autograd/graph.js';
import { fmtShape, numel, ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { expectDtype, grid1d, kernel, out, run, sections } from './common.js';
import { full } from './elementwise.js';
import { sum } from './reduce.js';
import { checkLoops } from './loop-budget.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);

/** Workgroup sizes: reductions over a channel's chunk, over a row or a channel's partials; per-element and per-channel kernels. */
const CHUNK_WG = 256;
const ROW_WG = 64;
const ELEMENT_WG = 256;
const CHANNEL_WG = 64;
/** Elements of one channel a pass-1 workgroup reduces: 64 loop iterations per invocation. */
const CHUNK = CHUNK_WG * 64;
/** Loop iterations of a tree sum over a workgroup of 256 (its log₂ steps), on top of the strided loops. */
const TREE_TRIPS = 8;

const CHANNEL_SUMS = uniforms('Params', { C: 'u32', HW: 'u32', NHW: 'u32', chunk: 'u32', nChunks: 'u32' });
const GRAD_SUMS = uniforms('Params', { C: 'u32', HW: 'u32', NHW: 'u32', chunk: 'u32', nChunks: 'u32', slope: 'f32' });
const SUM_PARTIALS = uniforms('Params', { C: 'u32', nChunks: 'u32' });
const FINALIZE = uniforms('Params', { C: 'u32', HW: 'u32', count: 'f32', eps: 'f32', momentum: 'f32' });
const PREPARE_EVAL = uniforms('Params', { C: 'u32', eps: 'f32' });
const NORMALIZE = uniforms('Params', { n: 'u32', C: 'u32', HW: 'u32', slope: 'f32' });
const GRAD_INPUT = uniforms('Params', { n: 'u32', C: 'u32', HW: 'u32', count: 'f32', slope: 'f32' });
const GRAD_INPUT_EVAL = uniforms('Params', { n: 'u32', C: 'u32', HW: 'u32', slope: 'f32' });
const LN_FORWARD = uniforms('Params', { rows: 'u32', D: 'u32', eps: 'f32' });
const LN_BACKWARD = uniforms('Params', { rows: 'u32', D: 'u32' });

export interface BatchNormOptions {
  training: boolean;
  /** Weight of the new batch in the running statistics (PyTorch's default 0.1). */
  momentum?: number;
  eps?: number;
  /**
   * Fuse a LeakyReLU with this negative slope after the normalisation: the same values, bit for bit,
   * as `leakyRelu(batchNorm2d(…), slope)`, without the intermediate tensor or its two kernels' passes
   * (forward and backward). null/absent: plain BatchNorm.
   */
  leakySlope?: number | null;
}

interface ChannelGeometry {
  C: number;
  HW: number;
  NHW: number;
  nChunks: number;
}

function checkChannelVector(op: string, t: Tensor | null, C: number, name: string, x: Tensor): void {
  if (!t) return;
  expectDtype(op, t, 'f32');
  if (t.rank !== 1 || t.shape[0] !== C) throw new ShapeError(op, `${name} must have shape [${C}], got ${fmtShape(t.shape)}`, [x.shape]);
}

/**
 * Reduce per channel over N·H·W in two passes: [C, nChunks] partials, then [C] and [C]. The forward's
 * statistics (bnStatsPartial over x) or the backward's sums (bnGradPartial over x, g and the
 * statistics, g gated by a fused LeakyReLU when `slope` is not null).
 */
function channelSums(op: string, inputs: Tensor[], geo: ChannelGeometry, grad: { slope: number | null } | null): [Tensor, Tensor] {
  const partials = out([geo.C, geo.nChunks, 2], 'f32', `${op}Partials`);
  const sizes = { C: geo.C, HW: geo.HW, NHW: geo.NHW, chunk: CHUNK, nChunks: geo.nChunks };
  const grid = grid1d(geo.C * geo.nChunks, 1);
  if (grad) {
    const leaky = grad.slope !== null;
    const pass1 = kernel(`norm:bnGradPartial${leaky ? ':leaky' : ''}`, GRAD_SUMS, CHUNK_WG, () => ({ body: SRC.bnGradPartial, consts: { LEAKY: ['bool', leaky] } }));
    run(pass1, [...inputs, partials], { ...sizes, slope: grad.slope ?? 0 }, grid, op);
  } else {
    const pass1 = kernel('norm:bnStatsPartial', CHANNEL_SUMS, CHUNK_WG, () => ({ body: SRC.bnStatsPartial }));
    run(pass1, [...inputs, partials], sizes, grid, op);
  }
  const a = out([geo.C], 'f32', `${op}SumA`);
  const b = out([geo.C], 'f32', `${op}SumB`);
  const pass2 = kernel('norm:bnSumPartials', SUM_PARTIALS, ROW_WG, () => ({ body: SRC.bnSumPartials }));
  run(pass2, [partials, a, b], { C: geo.C, nChunks: geo.nChunks }, grid1d(geo.C, 1), op);
  partials.dispose();
  return [a, b];
}

/**
 * BatchNorm2d over x [N, C, H, W]. Training: normalise with the batch mean and biased variance and
 * update runningMean/runningVar in place (running = (1 − m)·running + m·batch, with the unbiased
 * batch variance). Eval: normalise with the running statistics. weight and bias may be null. With
 * `leakySlope`, a LeakyReLU follows in the same kernels (forward and backward).
 */
export function batchNorm2d(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor,
  runningVar: Tensor,
  opts: BatchNormOptions,
): Tensor {
  const { training, momentum = 0.1, eps = 1e-5, leakySlope = null } = opts;
  const op = leakySlope === null ? 'batchNorm2d' : 'batchNorm2d+leakyRelu';
  expectDtype(op, x, 'f32');
  if (x.rank !== 4) throw new ShapeError(op, 'expects an NCHW tensor', [x.shape]);
  const [N, C, H, W] = x.shape;
  for (const [t, name] of [[weight, 'weight'], [bias, 'bias'], [runningMean, 'runningMean'], [runningVar, 'runningVar']] as const) {
    checkChannelVector(op, t, C, name, x);
  }
  if (leakySlope !== null && !Number.isFinite(leakySlope)) throw new Error(`${op}: the LeakyReLU slope ${leakySlope} is not a finite number`);
  const NHW = N * H * W;
  if (training && NHW < 2) throw new ShapeError(op, `training needs more than one value per channel`, [x.shape]);
  const nChunks = Math.ceil(NHW / CHUNK);
  // Pass 2: each invocation adds every ROW_WG-th partial of its channel.
  checkLoops(op, Math.ceil(nChunks / ROW_WG) + TREE_TRIPS, [x.shape], `summing ${nChunks} partials per channel`);
  const geo: ChannelGeometry = { C, HW: H * W, NHW, nChunks };
  const leaky = leakySlope !== null;
  const slope = leakySlope ?? 0;
  const suffix = leaky ? ':leaky' : '';

  const y = out(x.shape, 'f32', op);
  if (!x.size) return y;
  // Null weight/bias act as 1 and 0 (temporaries: the kernels bind a buffer either way).
  const w = weight ?? full([C], 1);
  const b = bias ?? full([C], 0);
  const statsAffine = out([C, 4], 'f32', 'batchNormStats'); // (mean, invstd, scale, shift)
  if (training) {
    const [sumD, sumD2] = channelSums(op, [x], geo, null);
    const finalize = kernel('norm:bnFinalizeTraining', FINALIZE, CHANNEL_WG, () => ({ body: SRC.bnFinalizeTraining }));
    run(finalize, [x, sumD, sumD2, w, b, runningMean, runningVar, statsAffine], { C, HW: geo.HW, count: NHW, eps, momentum }, grid1d(C, CHANNEL_WG), op);
    sumD.dispose();
    sumD2.dispose();
  } else {
    const prepare = kernel('norm:bnPrepareEval', PREPARE_EVAL, CHANNEL_WG, () => ({ body: SRC.bnPrepareEval }));
    run(prepare, [runningMean, runningVar, w, b, statsAffine], { C, eps }, grid1d(C, CHANNEL_WG), op);
  }
  const normalize = kernel(`norm:bnNormalize${suffix}`, NORMALIZE, ELEMENT_WG, () => ({ body: SRC.bnNormalize, consts: { LEAKY: ['bool', leaky] } }));
  run(normalize, [x, statsAffine, y], { n: x.size, C, HW: geo.HW, slope }, grid1d(x.size, ELEMENT_WG), op);
  if (!weight) w.dispose();
  if (!bias) b.dispose();

  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  record(y, op, inputs, [x, statsAffine], (g, [sx, st]) => {
    if (isGradEnabled()) throw new Error(`${op}: second derivatives are not supported (createGraph through batch norm)`);
    const affineGrads = (weight?.requiresGrad ?? false) || (bias?.requiresGrad ?? false);
    // Eval mode needs the channel sums only for the weight and bias gradients.
    const [sumG, sumGX] = training || affineGrads ? channelSums(op, [sx, g, st], geo, { slope: leaky ? slope : null }) : [null, null];
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = out(x.shape, 'f32', `${op}Grad`);
      if (training) {
        const gradInput = kernel(`norm:bnGradInputTraining${suffix}`, GRAD_INPUT, ELEMENT_WG, () => ({ body: SRC.bnGradInputTraining, consts: { LEAKY: ['bool', leaky] } }));
        run(gradInput, [sx, g, st, sumG!, sumGX!, dx], { n: x.size, C, HW: geo.HW, count: NHW, slope }, grid1d(x.size, ELEMENT_WG), op);
      } else {
        // Running statistics are constants: dx = g·scale.
        const gradInput = kernel(`norm:bnGradInputEval${suffix}`, GRAD_INPUT_EVAL, ELEMENT_WG, () => ({ body: SRC.bnGradInputEval, consts: { LEAKY: ['bool', leaky] } }));
        run(gradInput, [sx, g, st, dx], { n: x.size, C, HW: geo.HW, slope }, grid1d(x.size, ELEMENT_WG), op);
      }
    }
    // dweight = Σ g·x̂, dbias = Σ g.
    const grads: (Tensor | null)[] = [dx];
    if (weight) grads.push(sumGX);
    else sumGX?.dispose();
    if (bias) grads.push(sumG);
    else sumG?.dispose();
    return grads;
  });
  statsAffine.dispose();
  return y;
}

/**
 * Layer normalisation over the last dimension: (x − mean)/√(var + eps)·weight + bias, with the
 * biased variance (as PyTorch). weight and bias ([D]) may be null.
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  expectDtype(op, x, 'f32');
  if (x.rank === 0) throw new ShapeError(op, 'needs at least one dimension', [x.shape]);
  const D = x.shape[x.rank - 1];
  checkChannelVector(op, weight, D, 'weight', x);
  checkChannelVector(op, bias, D, 'bias', x);
  // One workgroup per row: each invocation passes over every ROW_WG-th element three times.
  checkLoops(op, 3 * Math.ceil(D / ROW_WG) + 2 * TREE_TRIPS, [x.shape], `a row of ${D}`);
  const rows = numel(x.shape) / Math.max(D, 1);
  const y = out(x.shape, 'f32', op);
  if (!x.size) return y;
  const w = weight ?? full([D], 1);
  const b = bias ?? full([D], 0);
  const stats = out([rows, 2], 'f32', 'layerNormStats'); // (mean, rstd) per row
  const forward = kernel('norm:lnForward', LN_FORWARD, ROW_WG, () => ({ body: SRC.lnForward }));
  run(forward, [x, w, b, y, stats], { rows, D, eps }, grid1d(rows, 1), op);
  if (!bias) b.dispose();

  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  record(y, op, inputs, [x, w, stats], (g, [sx, sw, st]) => {
    if (isGradEnabled()) throw new Error(`${op}: second derivatives are not supported (createGraph through layer norm)`);
    const dx = out(x.shape, 'f32', `${op}Grad`);
    const gxhat = out(x.shape, 'f32', `${op}GradXhat`);
    const backward = kernel('norm:lnBackward', LN_BACKWARD, ROW_WG, () => ({ body: SRC.lnBackward }));
    run(backward, [sx, g, sw, st, dx, gxhat], { rows, D }, grid1d(rows, 1), op);
    const leading = x.shape.slice(0, -1).map((_, i) => i);
    const grads: (Tensor | null)[] = [dx];
    if (weight) grads.push(sum(gxhat, leading));
    if (bias) grads.push(sum(g, leading));
    gxhat.dispose();
    return grads;
  });
  if (!weight) w.dispose();
  stats.dispose();
  return y;
}
