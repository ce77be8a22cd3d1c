// Shared geometry of the 2-D convolution kernels (kernels/conv2d.ts and the kernels it launches):
// options, their checks, output sizes, which path a geometry takes, and the uniform fields the
// direct kernels share.
import { fmtShape, ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';

export type Pair = [number, number];

export interface Conv2dOptions {
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns on the bottom/right of the output (must be < stride or < dilation). */
  outputPadding?: number | Pair;
}

/** The convolution both directions share: x [N, Cin, H, W] ↔ y [N, Cout, Ho, Wo]. */
export interface Geometry {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
}

/** The uniform fields of the stride, padding and dilation (as [y, x]); `geometryValues` fills them. */
export const GEOMETRY_FIELDS = { strideY: 'i32', strideX: 'i32', padY: 'i32', padX: 'i32', dilY: 'i32', dilX: 'i32' } as const;

export const geometryValues = (geo: Geometry) => ({
  strideY: geo.stride[0],
  strideX: geo.stride[1],
  padY: geo.padding[0],
  padX: geo.padding[1],
  dilY: geo.dilation[0],
  dilX: geo.dilation[1],
});

/** Stride 1 without dilation: the padded-row fast path (kernels/conv2d-rows.ts) applies. */
export const unitStrideAndDilation = (geo: Geometry) => geo.stride[0] === 1 && geo.stride[1] === 1 && geo.dilation[0] === 1 && geo.dilation[1] === 1;
/** Strided, no dilation: the input gradient runs as a stride-1 convolution over the zero-inserted source. */
export const stridedWithoutDilation = (geo: Geometry) => (geo.stride[0] > 1 || geo.stride[1] > 1) && geo.dilation[0] === 1 && geo.dilation[1] === 1;

/** An option given as one number or [y, x], checked to be integers ≥ min. */
export function pair(op: string, name: string, v: number | Pair, min: number): Pair {
  const p: Pair = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) throw new ShapeError(op, `${name} must be integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}

export function geometry(op: string, opts: Conv2dOptions): Geometry {
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(op, `groups must be a positive integer, got ${groups}`);
  return {
    stride: pair(op, 'stride', opts.stride ?? 1, 1),
    padding: pair(op, 'padding', opts.padding ?? 0, 0),
    dilation: pair(op, 'dilation', opts.dilation ?? 1, 1),
    groups,
  };
}

export function checkOperands(op: string, x: Tensor, w: Tensor, bias: Tensor | null | undefined): void {
  for (const t of [x, w, bias]) {
    if (t && t.dtype !== 'f32') throw new ShapeError(op, `expects f32 tensors, got ${t.dtype}`, [t.shape]);
  }
  if (x.rank !== 4 || w.rank !== 4) throw new ShapeError(op, 'expects a 4-D input [N, C, H, W] and a 4-D weight', [x.shape, w.shape]);
}

export function checkGroups(op: string, channels: number, which: string, groups: number, shapes: Shape[]): void {
  if (channels % groups) throw new ShapeError(op, `${channels} ${which} channels do not divide into ${groups} groups`, shapes);
}

export function checkBias(op: string, bias: Tensor | null | undefined, cout: number, shapes: Shape[]): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) {
    throw new ShapeError(op, `bias must be [${cout}], got ${fmtShape(bias.shape)}`, [...shapes, bias.shape]);
  }
}

/** Output size along axis `a` (0: y, 1: x) of a convolution over `size` through a kernel of `k`. */
export function convOutSize(size: number, k: number, geo: Geometry, a: 0 | 1): number {
  return Math.floor((size + 2 * geo.padding[a] - geo.dilation[a] * (k - 1) - 1) / geo.stride[a]) + 1;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
