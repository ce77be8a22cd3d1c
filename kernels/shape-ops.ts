// Shape and layout ops: reshape (a view), permute/transpose, flip, slice, pad, concat. All built on
// two kernels (strided gather and strided scatter) whose only cache key is the dtype.
import source from '../shaders/layout.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { fmtShape, normAxis, numel, ShapeError, stridesOf, type Shape } from '../src/engine/tensor/shape.js';
import { zeros, type Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 256;
const PARAMS = uniforms('Params', { n: 'u32', rank: 'u32', offset: 'u32', shape: 'vec8', stride: 'vec8' });

/** A strided copy of `x` into a new tensor of `shape` (the layout kernel behind every op here and `expand`). */
export function stridedCopy(op: string, x: Tensor, shape: Shape, strides: number[], offset: number): Tensor {
  const y = out(shape, x.dtype, op);
  if (!y.size) return y;
  const k = kernel(`layout:gather:${x.dtype}`, PARAMS, WG, () => ({ body: SRC.gather, types: { T: x.dtype } }));
  run(k, [x, y], { n: y.size, rank: shape.length, offset, shape, stride: strides }, grid1d(y.size, WG), op);
  return y;
}

/** Write `x` into `target` at `offset` with `strides` (target's layout); modifies target in place. */
function scatterInto(op: string, x: Tensor, target: Tensor, strides: number[], offset: number): void {
  if (!x.size) return;
  const k = kernel(`layout:scatter:${x.dtype}`, PARAMS, WG, () => ({ body: SRC.scatter, types: { T: x.dtype } }));
  run(k, [x, target], { n: x.size, rank: x.rank, offset, shape: x.shape, stride: strides }, grid1d(x.size, WG), op);
}

/** Same data, new shape; one dimension may be -1. Shares storage (no copy). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const neg = shape.indexOf(-1);
  let s = [...shape];
  if (neg >= 0) {
    const rest = numel(shape.filter((_, i) => i !== neg));
    if (rest === 0 || x.size % rest) throw new ShapeError('reshape', `cannot infer -1 for ${fmtShape(shape)}`, [x.shape]);
    s[neg] = x.size / rest;
  }
  if (numel(s) !== x.size) throw new ShapeError('reshape', `${x.size} elements cannot take shape ${fmtShape(s)}`, [x.shape]);
  const y = x.view(s);
  return record(y, 'reshape', [x], [], (g) => [reshape(g, x.shape)]);
}

export function flatten(x: Tensor, startDim = 1): Tensor {
  return reshape(x, [...x.shape.slice(0, startDim), -1]);
}

export function permute(x: Tensor, perm: number[]): Tensor {
  if (perm.length !== x.rank || new Set(perm).size !== perm.length) {
    throw new ShapeError('permute', `[${perm}] is not a permutation of ${x.rank} axes`, [x.shape]);
  }
  const p = perm.map((a) => normAxis('permute', a, x.rank));
  const xs = stridesOf(x.shape);
  const y = stridedCopy('permute', x, p.map((a) => x.shape[a]), p.map((a) => xs[a]), 0);
  const inverse = new Array<number>(p.length);
  p.forEach((a, i) => (inverse[a] = i));
  return record(y, 'permute', [x], [], (g) => [permute(g, inverse)]);
}

/**
 * Reverse `axes` (negative counts from the end). A strided gather whose strides along those axes are
 * negative: the shader's u32 index arithmetic wraps modulo 2³², so offset + c·(2³² − s) lands on
 * offset − c·s exactly. Its gradient is the same flip.
 */
export function flip(x: Tensor, axes: number[]): Tensor {
  const ax = new Set(axes.map((a) => normAxis('flip', a, x.rank)));
  if (ax.size !== axes.length) throw new ShapeError('flip', `axes [${axes}] repeat an axis`, [x.shape]);
  const xs = stridesOf(x.shape);
  const offset = [...ax].reduce((o, a) => o + (x.shape[a] - 1) * xs[a], 0);
  const y = stridedCopy('flip', x, x.shape, xs.map((s, a) => (ax.has(a) ? -s : s)), offset);
  return record(y, 'flip', [x], [], (g) => [flip(g, axes)]);
}

export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = x.shape.map((_, i) => i);
  const i = normAxis('transpose', a, x.rank);
  const j = normAxis('transpose', b, x.rank);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** x[start:end] along `axis` (end exclusive, clamped like Python). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis('slice', axis, x.rank);
  const d = x.shape[a];
  const s = Math.max(0, Math.min(d, start < 0 ? start + d : start));
  const e = Math.max(s, Math.min(d, end < 0 ? end + d : end));
  const shape = x.shape.map((v, i) => (i === a ? e - s : v));
  const xs = stridesOf(x.shape);
  const y = stridedCopy('slice', x, shape, xs, s * xs[a]);
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  before[a] = s;
  after[a] = d - e;
  return record(y, 'slice', [x], [], (g) => [pad(g, before, after)]);
}

/** Zero padding: `before[i]` and `after[i]` elements on each side of axis i. */
export function pad(x: Tensor, before: number[], after: number[]): Tensor {
  if (before.length !== x.rank || after.length !== x.rank) {
    throw new ShapeError('pad', `padding needs ${x.rank} entries per side`, [x.shape]);
  }
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  const y = zeros(shape, x.dtype);
  const ys = stridesOf(shape);
  const offset = before.reduce((s, b, i) => s + b * ys[i], 0);
  scatterInto('pad', x, y, ys, offset);
  return record(y, 'pad', [x], [], (g) => {
    let r = g;
    for (let i = 0; i < x.rank; i++) if (before[i] || after[i]) r = slice(r, i, before[i], before[i] + x.shape[i]);
    return [r];
  });
}

/** Concatenate along `axis`. */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (!xs.length) throw new Error('concat: no tensors given');
  const a = normAxis('concat', axis, xs[0].rank);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.dtype !== xs[0].dtype || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new ShapeError('concat', `tensors differ outside axis ${a}`, xs.map((t) => t.shape));
    }
  }
  const shape = xs[0].shape.map((d, i) => (i === a ? xs.reduce((s, t) => s + t.shape[a], 0) : d));
  const y = out(shape, xs[0].dtype, 'concat');
  const ys = stridesOf(shape);
  let at = 0;
  const starts: number[] = [];
  for (const t of xs) {
    starts.push(at);
    scatterInto('concat', t, y, ys, at * ys[a]);
    at += t.shape[a];
  }
  return record(y, 'concat', xs, [], (g) => xs.map((t, i) => (t.requiresGrad ? slice(g, a, starts[i], starts[i] + t.shape[a]) : null)));
}

export function stack(xs: Tensor[], axis = 0): Tensor {
  const a = axis < 0 ? axis + xs[0].rank + 1 : axis;
  return concat(xs.map((t) => reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)])), a);
}
