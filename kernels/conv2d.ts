// 2-D convolution (NCHW, PyTorch semantics and weight layouts): conv2d and convTranspose2d, the public
// ops and the autograd rules that tie them together; the kernels live in three files beside this one.
//
// Three primitive ops, each differentiable in terms of the others so that second derivatives work
// (StyleGAN2's R1 penalty):
//   y = conv(x, w)            → dx = convInputGrad(dy, w),  dw = convWeightGrad(x, dy)
//   z = convInputGrad(g, w)   → dg = conv(dz, w),           dw = convWeightGrad(dz, g)
//   v = convWeightGrad(x, g)  → dx = convInputGrad(g, dv),  dg = conv(x, dv)
// convTranspose2d is convInputGrad with x in the role of dy. Which kernels compute them:
// - stride 1 without dilation (all of a UNet): the padded-row fast path (conv2d-rows.ts); the input
//   gradient runs there as a forward convolution with the kernel flipped;
// - convInputGrad at stride > 1 without dilation: a stride-1 convolution over the zero-inserted
//   source (`zeroInsertedConv`), on that same path;
// - everything else, and what does not fit one storage binding padded: the direct kernels
//   (conv2d-direct.ts), forward or transposed coordinates;
// - on GPUs (kernels/variant.ts: `gpuKernels()`), all of them as implicit GEMM with workgroup-memory
//   tiles (conv2d-gemm.ts), strided input gradients in transposed coordinates; depthwise-like
//   destinations (< GEMM_MIN_CHANNELS channels per group) keep the direct kernels there too;
// conv2d-weights.ts packs the weights for both and sums the weight gradient's split-K partials;
// conv2d-geometry.ts holds the options, checks and sizes all of them share.
import { noGrad, record } from '../src/engine/autograd/graph.js';
import { tidy } from '../src/engine/tensor/scope.js';
import { fmtShape, ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { directGather, directWeightGrad } from './conv2d-direct.js';
import { GEMM_MIN_CHANNELS, gemmGather, gemmWeightGrad } from './conv2d-gemm.js';
import {
  checkBias,
  checkGroups,
  checkOperands,
  convOutSize,
  geometry,
  pair,
  stridedWithoutDilation,
  unitStrideAndDilation,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type Geometry,
  type Pair,
} from './conv2d-geometry.js';
import { rowsGather, rowsWeightGrad, ROWS_MIN_LANES } from './conv2d-rows.js';
import { sum } from './reduce.js';
import { flip, permute, reshape } from './shape-ops.js';
import { upfirdn2d, type Pad4 } from './upfirdn2d.js';
import { gpuKernels } from './variant.js';

export type { Conv2dOptions, ConvTranspose2dOptions } from './conv2d-geometry.js';

// ---------------------------------------------------------------------------------------------
// Public ops

/** PyTorch's conv2d: x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout] → [N, Cout, Ho, Wo]. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const geo = geometry('conv2d', opts);
  checkOperands('conv2d', x, w, bias);
  const [, cin, h, wd] = x.shape;
  const [cout, cinG, kh, kw] = w.shape;
  if (cinG * geo.groups !== cin) {
    throw new ShapeError('conv2d', `weight expects ${cinG * geo.groups} input channels (${cinG} per group × ${geo.groups} groups), input has ${cin}`, [x.shape, w.shape]);
  }
  checkGroups('conv2d', cout, 'output', geo.groups, [x.shape, w.shape]);
  checkBias('conv2d', bias, cout, [x.shape, w.shape]);
  const ho = convOutSize(h, kh, geo, 0);
  const wo = convOutSize(wd, kw, geo, 1);
  if (ho < 1 || wo < 1) {
    throw new ShapeError('conv2d', `the kernel (dilated) does not fit the padded input: output would be ${ho}×${wo}`, [x.shape, w.shape]);
  }
  return conv(x, w, bias ?? null, geo, [ho, wo]);
}

/**
 * PyTorch's conv_transpose2d: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw], bias [Cout] →
 * [N, Cout, (H−1)·s − 2p + d·(k−1) + outputPadding + 1, …].
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const geo = geometry('convTranspose2d', opts);
  const outPad = pair('convTranspose2d', 'outputPadding', opts.outputPadding ?? 0, 0);
  checkOperands('convTranspose2d', x, w, bias);
  const [, cin, h, wd] = x.shape;
  const [wCin, coutG, kh, kw] = w.shape;
  if (wCin !== cin) {
    throw new ShapeError('convTranspose2d', `weight expects ${wCin} input channels, input has ${cin}`, [x.shape, w.shape]);
  }
  checkGroups('convTranspose2d', cin, 'input', geo.groups, [x.shape, w.shape]);
  checkBias('convTranspose2d', bias, coutG * geo.groups, [x.shape, w.shape]);
  for (const a of [0, 1] as const) {
    if (outPad[a] >= Math.max(geo.stride[a], geo.dilation[a])) {
      throw new ShapeError('convTranspose2d', `outputPadding ${outPad[a]} must be smaller than stride or dilation`, [x.shape, w.shape]);
    }
  }
  const size = (n: number, k: number, a: 0 | 1) => (n - 1) * geo.stride[a] - 2 * geo.padding[a] + geo.dilation[a] * (k - 1) + outPad[a] + 1;
  const [ho, wo] = [size(h, kh, 0), size(wd, kw, 1)];
  if (ho < 1 || wo < 1) throw new ShapeError('convTranspose2d', `output would be ${ho}×${wo}`, [x.shape, w.shape]);
  return convInputGrad(x, w, bias ?? null, geo, [ho, wo]);
}

/**
 * The input gradient of conv2d as an op of its own (torch.nn.grad.conv2d_input): dx [N, Cin, H, W] of
 * conv2d(x, w, opts) given dy [N, Cout, Ho, Wo]; differentiable.
 */
export function conv2dInputGrad(dy: Tensor, w: Tensor, inputShape: Shape, opts: Conv2dOptions = {}): Tensor {
  const geo = geometry('conv2dInputGrad', opts);
  checkOperands('conv2dInputGrad', dy, w, null);
  const [n, cin, h, wd] = inputShape;
  const [cout, cinG, kh, kw] = w.shape;
  const want = [n, cout, convOutSize(h, kh, geo, 0), convOutSize(wd, kw, geo, 1)];
  if (inputShape.length !== 4 || cinG * geo.groups !== cin || dy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError('conv2dInputGrad', `dy must be ${fmtShape(want)} for input ${fmtShape(inputShape)} and this weight`, [dy.shape, w.shape]);
  }
  checkGroups('conv2dInputGrad', cout, 'output', geo.groups, [dy.shape, w.shape]);
  return convInputGrad(dy, w, null, geo, [h, wd]);
}

/**
 * The weight gradient of conv2d as an op of its own (torch.nn.grad.conv2d_weight): dw of
 * conv2d(x, w, opts) given dy, shaped `weightShape` = [Cout, Cin/groups, kh, kw]; differentiable.
 */
export function conv2dWeightGrad(x: Tensor, dy: Tensor, weightShape: Shape, opts: Conv2dOptions = {}): Tensor {
  const geo = geometry('conv2dWeightGrad', opts);
  checkOperands('conv2dWeightGrad', x, dy, null);
  const [n, cin, h, wd] = x.shape;
  const [cout, cinG, kh, kw] = weightShape;
  const want = [n, cout, convOutSize(h, kh, geo, 0), convOutSize(wd, kw, geo, 1)];
  if (weightShape.length !== 4 || cinG * geo.groups !== cin || dy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError('conv2dWeightGrad', `dy must be ${fmtShape(want)} for input ${fmtShape(x.shape)} and weight ${fmtShape(weightShape)}`, [x.shape, dy.shape]);
  }
  checkGroups('conv2dWeightGrad', cout, 'output', geo.groups, [x.shape, dy.shape]);
  return convWeightGrad(x, dy, geo, [kh, kw]);
}

// ---------------------------------------------------------------------------------------------
// The three primitives and their gradients

function conv(x: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, outHW: Pair): Tensor {
  const [n, , h, wd] = x.shape;
  const [cout, , kh, kw] = w.shape;
  const y = gather('conv2d', 'forward', x, w, bias, geo, [n, cout, ...outHW]);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(y, 'conv2d', inputs, [x, w], (g, [sx, sw]) => [
    x.requiresGrad ? convInputGrad(g, sw, null, geo, [h, wd]) : null,
    w.requiresGrad ? convWeightGrad(sx, g, geo, [kh, kw]) : null,
    bias?.requiresGrad ? sum(g, [0, 2, 3]) : null,
  ]);
}

/** dx of conv(x, w) given dy (also the transposed convolution of dy); w [Cdy, Cdx/groups, kh, kw]. */
function convInputGrad(dy: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, outHW: Pair): Tensor {
  const [n, , ho, wo] = dy.shape;
  const [, cdxG, kh, kw] = w.shape;
  // The GPU kernels take strided input gradients in transposed coordinates directly (conv2d-gemm.ts).
  const z = stridedWithoutDilation(geo) && !gpuKernels()
    ? noGrad(() => zeroInsertedConv(dy, w, bias, geo, outHW))
    : gather('convInputGrad', 'transposed', dy, w, bias, geo, [n, cdxG * geo.groups, ...outHW]);
  const inputs = bias ? [dy, w, bias] : [dy, w];
  return record(z, 'convInputGrad', inputs, [dy, w], (dz, [sdy, sw]) => [
    dy.requiresGrad ? conv(dz, sw, null, geo, [ho, wo]) : null,
    w.requiresGrad ? convWeightGrad(dz, sdy, geo, [kh, kw]) : null,
    bias?.requiresGrad ? sum(dz, [0, 2, 3]) : null,
  ]);
}

/**
 * The value of convInputGrad at stride s > 1 (dilation 1): a stride-1 conv2d over the zero-inserted
 * dy, padded by k−1−p before and to `outHW` after (negative: cropped), with the weight's in/out
 * channels swapped per group and its taps flipped. s² times the multiply-adds of the direct
 * transposed kernel, but on the stride-1 fast path (`rowsForward`): ~2× faster at StyleGAN2's
 * shapes. Only the value: convInputGrad records the gradient with the direct primitives, whose
 * weight gradient does not pay for the inserted zeros.
 */
function zeroInsertedConv(dy: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, outHW: Pair): Tensor {
  const [, , h, wd] = dy.shape;
  const [wCin, coutG, kh, kw] = w.shape;
  const g = geo.groups;
  // upfirdn2d's up-sampling gives n·s pixels per axis; the trailing pad makes the conv's output `outHW`.
  const before = (k: number, a: 0 | 1) => k - 1 - geo.padding[a];
  const after = (n: number, k: number, a: 0 | 1) => outHW[a] + k - 1 - n * geo.stride[a] - before(k, a);
  const padding: Pad4 = [before(kw, 1), after(wd, kw, 1), before(kh, 0), after(h, kh, 0)];
  return tidy(() => {
    const zeroInserted = upfirdn2d(dy, null, { up: [geo.stride[1], geo.stride[0]], padding });
    const swapped = permute(reshape(w, [g, wCin / g, coutG, kh, kw]), [0, 2, 1, 3, 4]);
    const wConv = flip(reshape(swapped, [g * coutG, wCin / g, kh, kw]), [2, 3]);
    return conv2d(zeroInserted, wConv, bias, { groups: g });
  });
}

/** dw of conv(x, w) given dy: [Cdy, Cx/groups, kh, kw]. */
function convWeightGrad(x: Tensor, dy: Tensor, geo: Geometry, kernel: Pair): Tensor {
  const [, , h, wd] = x.shape;
  const [, , ho, wo] = dy.shape;
  const v = weightGradKernel(x, dy, geo, kernel);
  return record(v, 'convWeightGrad', [x, dy], [x, dy], (dv, [sx, sdy]) => [
    x.requiresGrad ? convInputGrad(sdy, dv, null, geo, [h, wd]) : null,
    dy.requiresGrad ? conv(sx, dv, null, geo, [ho, wo]) : null,
  ]);
}

// ---------------------------------------------------------------------------------------------
// Which kernels compute them

/**
 * Output [N, Cd, Hd, Wd] gathered from `src` [N, Cs, Hs, Ws] through `w`. Forward (conv): w is
 * [Cd, Cs/groups, kh, kw]. Transposed (input gradient): w is [Cs, Cd/groups, kh, kw].
 */
function gather(op: string, mode: 'forward' | 'transposed', src: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, dstShape: Shape): Tensor {
  // At stride 1 a transposed convolution is a forward one with the kernel flipped and padding
  // d·(k−1) − p, which skips the transposed coordinates' divisibility tests.
  const flipped = mode === 'transposed' && geo.stride[0] === 1 && geo.stride[1] === 1;
  if (flipped) {
    const [kh, kw] = w.shape.slice(2);
    const padding: Pair = [geo.dilation[0] * (kh - 1) - geo.padding[0], geo.dilation[1] * (kw - 1) - geo.padding[1]];
    geo = { ...geo, padding };
  }
  const transposed = mode === 'transposed' && !flipped;
  if (gpuKernels() && dstShape[1] / geo.groups >= GEMM_MIN_CHANNELS) return gemmGather(op, transposed, flipped, src, w, bias, geo, dstShape);
  if (!transposed && unitStrideAndDilation(geo) && !gpuKernels()) {
    const y = rowsGather(op, src, w, bias, geo, dstShape, flipped);
    if (y) return y;
  }
  return directGather(op, transposed, flipped, src, w, bias, geo, dstShape);
}

/** dw [Cdy, Cx/groups, kh, kw] of conv(x, w) given dy. */
function weightGradKernel(x: Tensor, dy: Tensor, geo: Geometry, kernel: Pair): Tensor {
  const op = 'convWeightGrad';
  if (gpuKernels()) return gemmWeightGrad(op, x, dy, geo, kernel);
  // The fast path puts input channels on SIMD lanes: too few leave them idle.
  if (unitStrideAndDilation(geo) && x.shape[1] / geo.groups >= ROWS_MIN_LANES) {
    const v = rowsWeightGrad(op, x, dy, geo, kernel);
    if (v) return v;
  }
  return directWeightGrad(op, x, dy, geo, kernel);
}
