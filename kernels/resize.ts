// Resizing [N, C, H, W] f32 tensors with PyTorch's F.interpolate semantics: resizeBilinear (mode
// 'bilinear', either align_corners) and resizeNearest (mode 'nearest'). Cache key: the kernel, the
// mode (for the adjoint) and the workgroup size; sizes and scales travel in uniforms.
//
// Both ops are linear, so each backward is the adjoint operator: a separable gather-form kernel run
// along W, then along H (no float atomics). The adjoint records the forward as its own backward, so
// gradients of gradients work.
import source from '../shaders/resize.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { workgroupForLoops } from './loop-budget.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const FORWARD_WG = 256;

const FORWARD = uniforms('Params', { n: 'u32', inH: 'u32', inW: 'u32', outH: 'u32', outW: 'u32', alignCorners: 'u32', scaleH: 'f32', scaleW: 'f32' });
const ADJOINT = uniforms('Params', { n: 'u32', inLen: 'u32', outLen: 'u32', inner: 'u32', alignCorners: 'u32', scale: 'f32' });

type Mode = 'bilinear' | 'nearest';

interface ResizeGeometry {
  op: string;
  mode: Mode;
  alignCorners: boolean;
  inShape: Shape;
  outShape: Shape;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  /** Source coordinates per output step, rounded to f32 as ATen computes them. */
  scaleH: number;
  scaleW: number;
}

/** ATen's area_pixel_compute_scale (bilinear) and compute_scales_value (nearest), for a given size. */
function sourceScale(mode: Mode, inLen: number, outLen: number, alignCorners: boolean): number {
  if (mode === 'bilinear' && alignCorners) return outLen > 1 ? Math.fround((inLen - 1) / (outLen - 1)) : 0;
  return Math.fround(inLen / outLen);
}

function resizeGeometry(op: string, mode: Mode, x: Tensor, size: [number, number], alignCorners: boolean): ResizeGeometry {
  if (x.rank !== 4) throw new ShapeError(op, `expects a [N, C, H, W] tensor, got rank ${x.rank}`, [x.shape]);
  if (x.dtype !== 'f32') throw new ShapeError(op, `expects an f32 tensor, got ${x.dtype}`, [x.shape]);
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(op, `size must be two integers ≥ 1, got ${JSON.stringify(size)}`, [x.shape]);
  }
  const [n, c, inH, inW] = x.shape;
  if (inH < 1 || inW < 1) throw new ShapeError(op, 'input height and width must be at least 1', [x.shape]);
  const [outH, outW] = size;
  return {
    op,
    mode,
    alignCorners,
    inShape: x.shape,
    outShape: [n, c, outH, outW],
    inH,
    inW,
    outH,
    outW,
    scaleH: sourceScale(mode, inH, outH, alignCorners),
    scaleW: sourceScale(mode, inW, outW, alignCorners),
  };
}

/** The shader's one constant: whether the mode is 'nearest' (else bilinear). */
const modeConsts = (mode: Mode) => ({ NEAREST: ['bool', mode === 'nearest'] as const });

function forward(x: Tensor, geo: ResizeGeometry): Tensor {
  const y = out(geo.outShape, 'f32', geo.op);
  if (y.size) {
    const k = kernel(`resize:${geo.mode}`, FORWARD, FORWARD_WG, () => ({ body: SRC[geo.mode], consts: modeConsts(geo.mode) }));
    const { inH, inW, outH, outW, scaleH, scaleW } = geo;
    run(k, [x, y], { n: y.size, inH, inW, outH, outW, alignCorners: geo.alignCorners ? 1 : 0, scaleH, scaleW }, grid1d(y.size, FORWARD_WG), geo.op);
  }
  return record(y, geo.op, [x], [], (g) => [adjoint(g, geo)]);
}

/**
 * Outputs a candidate range of the adjoint visits per input element: the span (i − 1, i + 1) of
 * source coordinates covers 2/scale outputs, plus rounding slack; every output when scale is 0.
 */
function candidatesPerInput(outLen: number, scale: number): number {
  return scale === 0 ? outLen : Math.min(outLen, Math.ceil(2 / scale) + 6);
}

/** The adjoint along one axis: g [outer, outLen, inner] → [outer, inLen, inner]. */
function adjointAlongAxis(geo: ResizeGeometry, g: Tensor, shape: Shape, inLen: number, outLen: number, inner: number, scale: number): Tensor {
  const dx = out(shape, 'f32', `${geo.op}Backward`);
  if (!dx.size) return dx;
  const wg = workgroupForLoops(`${geo.op}Backward`, candidatesPerInput(outLen, scale), [geo.inShape, geo.outShape]);
  const k = kernel(`resize:adjoint:${geo.mode}:wg${wg}`, ADJOINT, wg, () => ({ body: SRC.adjoint, consts: modeConsts(geo.mode) }));
  run(k, [g, dx], { n: dx.size, inLen, outLen, inner, alignCorners: geo.alignCorners ? 1 : 0, scale }, grid1d(dx.size, wg), `${geo.op}Backward`);
  return dx;
}

/** Input-shaped adjoint of the resize applied to an output-shaped `g`: along W, then along H. */
function adjoint(g: Tensor, geo: ResizeGeometry): Tensor {
  const [n, c] = geo.inShape;
  const alongW = adjointAlongAxis(geo, g, [n, c, geo.outH, geo.inW], geo.inW, geo.outW, 1, geo.scaleW);
  const dx = adjointAlongAxis(geo, alongW, geo.inShape, geo.inH, geo.outH, geo.inW, geo.scaleH);
  alongW.dispose();
  return record(dx, `${geo.op}Backward`, [g], [], (gg) => [forward(gg, geo)]);
}

/** F.interpolate(x, size, mode='bilinear', align_corners) on [N, C, H, W]. */
export function resizeBilinear(x: Tensor, size: [number, number], alignCorners = false): Tensor {
  return forward(x, resizeGeometry('resizeBilinear', 'bilinear', x, size, alignCorners));
}

/** F.interpolate(x, size, mode='nearest') on [N, C, H, W]: source index ⌊o · in/out⌋. */
export function resizeNearest(x: Tensor, size: [number, number]): Tensor {
  return forward(x, resizeGeometry('resizeNearest', 'nearest', x, size, false));
}
