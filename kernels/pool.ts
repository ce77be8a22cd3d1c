// 2-D pooling with PyTorch's semantics: maxPool2d (padding acts as −∞, ties keep the first index in
// row-major order, NaN propagates) and avgPool2d (count_include_pad), floor mode, on [N, C, H, W] or
// [C, H, W] f32 tensors. Cache key: the kernel and its workgroup size; geometry travels in uniforms.
//
// Gradients are gather-form kernels over the input (no float atomics). Each backward is linear in its
// incoming gradient and records its own adjoint as its backward, so higher derivatives work:
//   avgPool2d's adjoint ⇄ avgPool2d itself;
//   maxPool2d's backward (scatter to the saved argmax) ⇄ gather at the same argmax.
import source from '../shaders/pool.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { workgroupForLoops } from './loop-budget.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);

const PARAMS = uniforms('Params', {
  n: 'u32',
  inH: 'u32',
  inW: 'u32',
  outH: 'u32',
  outW: 'u32',
  kH: 'u32',
  kW: 'u32',
  sH: 'u32',
  sW: 'u32',
  pH: 'u32',
  pW: 'u32',
  countIncludePad: 'u32',
});

type Size2 = number | [number, number];

interface PoolGeometry {
  inShape: Shape;
  outShape: Shape;
  planes: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
}

function pair(op: string, what: string, v: Size2, min: number, shape: Shape): [number, number] {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [];
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new ShapeError(op, `${what} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`, [shape]);
  }
  return [p[0], p[1]];
}

/** Validates the arguments as PyTorch does and derives the output size (floor mode). */
function poolGeometry(op: string, x: Tensor, kernel: Size2, stride: Size2 | undefined, padding: Size2): PoolGeometry {
  if (x.rank !== 3 && x.rank !== 4) throw new ShapeError(op, `expects a [N, C, H, W] or [C, H, W] tensor, got rank ${x.rank}`, [x.shape]);
  if (x.dtype !== 'f32') throw new ShapeError(op, `expects an f32 tensor, got ${x.dtype}`, [x.shape]);
  const [kH, kW] = pair(op, 'kernel', kernel, 1, x.shape);
  const [sH, sW] = stride === undefined ? [kH, kW] : pair(op, 'stride', stride, 1, x.shape);
  const [pH, pW] = pair(op, 'padding', padding, 0, x.shape);
  if (2 * pH > kH || 2 * pW > kW) {
    throw new ShapeError(op, `padding (${pH}, ${pW}) must be at most half the kernel (${kH}, ${kW})`, [x.shape]);
  }
  const [inH, inW] = x.shape.slice(-2);
  const outH = Math.floor((inH + 2 * pH - kH) / sH) + 1;
  const outW = Math.floor((inW + 2 * pW - kW) / sW) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(op, `kernel (${kH}, ${kW}) with padding (${pH}, ${pW}) does not fit the input: output ${outH}×${outW}`, [x.shape]);
  }
  const lead = x.shape.slice(0, -2);
  return {
    inShape: x.shape,
    outShape: [...lead, outH, outW],
    planes: lead.reduce((a, b) => a * b, 1),
    inH,
    inW,
    outH,
    outW,
    kH,
    kW,
    sH,
    sW,
    pH,
    pW,
  };
}

type PoolKernel = 'max_forward' | 'avg_forward' | 'avg_adjoint' | 'argmax_scatter' | 'argmax_gather';

/** Dispatch one pool kernel over `items` elements; `trips` is each invocation's loop count. */
function launch(op: string, name: PoolKernel, geo: PoolGeometry, tensors: Tensor[], items: number, trips: number, countIncludePad = true): void {
  if (items === 0) return;
  const wg = workgroupForLoops(op, trips, [geo.inShape]);
  const k = kernel(`pool:${name}:wg${wg}`, PARAMS, wg, () => ({ body: SRC[name] }));
  const { inH, inW, outH, outW, kH, kW, sH, sW, pH, pW } = geo;
  run(k, tensors, { n: items, inH, inW, outH, outW, kH, kW, sH, sW, pH, pW, countIncludePad: countIncludePad ? 1 : 0 }, grid1d(items, wg), op);
}

const windowTrips = (geo: PoolGeometry) => geo.kH * geo.kW;
/** Windows covering one input element: at most ⌈k/s⌉ per axis. */
const coverTrips = (geo: PoolGeometry) => Math.ceil(geo.kH / geo.sH) * Math.ceil(geo.kW / geo.sW);

// ---------------------------------------------------------------------------------------------
// Max pooling

/**
 * torch.nn.functional.max_pool2d(x, kernel, stride ?? kernel, padding) in floor mode. The argmax
 * (h·W + w within each plane, as PyTorch's return_indices gives) is saved for the backward.
 */
export function maxPool2d(x: Tensor, kernel: Size2, stride?: Size2, padding: Size2 = 0): Tensor {
  const geo = poolGeometry('maxPool2d', x, kernel, stride, padding);
  const y = out(geo.outShape, 'f32', 'maxPool2d');
  const argmax = out(geo.outShape, 'i32', 'maxPool2d.argmax');
  launch('maxPool2d', 'max_forward', geo, [x, y, argmax], y.size, windowTrips(geo));
  record(y, 'maxPool2d', [x], [argmax], (g, [idx]) => [scatterToArgmax(g, idx, geo)]);
  argmax.dispose(); // the graph node keeps its own handle when it needs one
  return y;
}

/** Input-shaped: every output's gradient added at its argmax (the backward of maxPool2d). */
function scatterToArgmax(g: Tensor, argmax: Tensor, geo: PoolGeometry): Tensor {
  const dx = out(geo.inShape, 'f32', 'maxPool2dBackward');
  launch('maxPool2dBackward', 'argmax_scatter', geo, [g, argmax, dx], dx.size, coverTrips(geo));
  return record(dx, 'maxPool2dBackward', [g], [argmax], (gg, [idx]) => [gatherAtArgmax(gg, idx, geo)]);
}

/** Output-shaped: each window's argmax element of the input-shaped `x` (adjoint of the scatter). */
function gatherAtArgmax(x: Tensor, argmax: Tensor, geo: PoolGeometry): Tensor {
  const y = out(geo.outShape, 'f32', 'maxPool2dGather');
  launch('maxPool2dGather', 'argmax_gather', geo, [x, argmax, y], y.size, 1);
  return record(y, 'maxPool2dGather', [x], [argmax], (g, [idx]) => [scatterToArgmax(g, idx, geo)]);
}

// ---------------------------------------------------------------------------------------------
// Average pooling

/**
 * torch.nn.functional.avg_pool2d(x, kernel, stride ?? kernel, padding, ceil_mode=False,
 * count_include_pad). Padding counts as zeros; with countIncludePad=false the divisor is the number
 * of in-bounds elements of each window.
 */
export function avgPool2d(x: Tensor, kernel: Size2, stride?: Size2, padding: Size2 = 0, countIncludePad = true): Tensor {
  return averageOver(x, poolGeometry('avgPool2d', x, kernel, stride, padding), countIncludePad);
}

function averageOver(x: Tensor, geo: PoolGeometry, countIncludePad: boolean): Tensor {
  const y = out(geo.outShape, 'f32', 'avgPool2d');
  launch('avgPool2d', 'avg_forward', geo, [x, y], y.size, windowTrips(geo), countIncludePad);
  return record(y, 'avgPool2d', [x], [], (g) => [averageAdjoint(g, geo, countIncludePad)]);
}

/** Input-shaped: each output's gradient spread evenly over its window (the backward of avgPool2d). */
function averageAdjoint(g: Tensor, geo: PoolGeometry, countIncludePad: boolean): Tensor {
  const dx = out(geo.inShape, 'f32', 'avgPool2dBackward');
  launch('avgPool2dBackward', 'avg_adjoint', geo, [g, dx], dx.size, coverTrips(geo), countIncludePad);
  return record(dx, 'avgPool2dBackward', [g], [], (gg) => [averageOver(gg, geo, countIncludePad)]);
}
