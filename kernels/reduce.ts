// Reductions over axes — sum and argmax — with the reduce kernel family behind them, and the two
// adjoint halves of broadcasting: `expand` (materialise a broadcast) and `sumTo` (sum a broadcast
// gradient back down). sum ↔ expand are each other's gradient, so they live together; mean and max,
// whose gradients need elementwise arithmetic, sit one layer up in reduce-stats.ts (no import cycle).
// Key: reduction kind, dtypes and strategy; shapes go in uniforms.
import source from '../shaders/reduce.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { normAxis, numel, ShapeError, stridesOf, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { reshape, stridedCopy } from './shape-ops.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);

export type ReduceKind = 'sum' | 'max' | 'argmax';

const FORMS: Record<ReduceKind, { init: string; combine: string; merge: string; result: string }> = {
  sum: { init: '0.0', combine: 'acc += v;', merge: 'acc += v;', result: 'acc * P.scale' },
  max: { init: '-3.4e38', combine: 'acc = max(acc, v);', merge: 'acc = max(acc, v);', result: 'acc' },
  argmax: {
    init: '-3.4e38',
    combine: 'if (v > acc) { acc = v; arg = k; }',
    merge: 'if (v > acc || (v == acc && k < arg)) { acc = v; arg = k; }',
    result: 'i32(arg)',
  },
};

/** Reduced elements per output below which one invocation per output beats a workgroup tree. */
const TREE_THRESHOLD = 128;
/** Workgroup sizes: `rowwise` (an invocation per output) and `tree` (a workgroup per output and chunk). */
const ROW_WG = 64;
const TREE_WG = 256;
/** Reduced elements one `tree` workgroup handles: 64 loop iterations per invocation. */
const CHUNK = TREE_WG * 64;

const PARAMS = uniforms('Params', {
  nOut: 'u32',
  nRed: 'u32',
  rankK: 'u32',
  rankR: 'u32',
  kShape: 'vec8',
  kStride: 'vec8',
  rShape: 'vec8',
  rStride: 'vec8',
  scale: 'f32',
  chunk: 'u32',
  nChunks: 'u32',
});

export function normAxes(op: string, x: Tensor, axes?: number | number[]): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(op, a, x.rank));
  if (new Set(list).size !== list.length) throw new ShapeError(op, `repeated axis in [${axes}]`, [x.shape]);
  return list.sort((a, b) => a - b);
}

export function reduceKernel(op: string, kind: ReduceKind, x: Tensor, axes: number[], keepDim: boolean, scale = 1): Tensor {
  const strides = stridesOf(x.shape);
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const outShape = keepDim ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]);
  // Merge neighbouring dims that are contiguous in memory: fewer div/mod per element, and the common
  // cases (a full sum, a sum over H·W) become a single strided run.
  const [kShape, kStride] = collapse(kept.map((i) => x.shape[i]), kept.map((i) => strides[i]));
  const [rShape, rStride] = collapse(axes.map((i) => x.shape[i]), axes.map((i) => strides[i]));
  const nOut = numel(kShape);
  const nRed = numel(rShape);
  if (kShape.length > 8 || rShape.length > 8) throw new ShapeError(op, 'rank above 8 is not supported', [x.shape]);
  const tree = nRed > TREE_THRESHOLD;
  // Long reductions run in two passes: [nOut, nChunks] partials, then those (not for argmax, whose
  // partials would need their indices too; it is only used over class axes).
  const nChunks = tree && kind !== 'argmax' ? Math.ceil(nRed / CHUNK) : 1;
  const y = out(nChunks > 1 ? [nOut, nChunks] : outShape, kind === 'argmax' ? 'i32' : 'f32', op);
  if (nOut === 0) return y;
  const f = FORMS[kind];
  const wg = tree ? TREE_WG : ROW_WG;
  const k = kernel(`reduce:${kind}:${x.dtype}:${tree ? 'tree' : 'row'}:${rShape.length === 1 ? 'run' : 'strided'}`, PARAMS, wg, () => ({
    body: tree ? SRC.tree : SRC.rowwise,
    types: { T: x.dtype, TOut: kind === 'argmax' ? 'i32' : 'f32' },
    slots: {
      RED_OFFSET: rShape.length === 1 ? 'k * P.rStride[0][0]' : 'redOffsetStrided(k)',
      INIT: f.init,
      COMBINE: f.combine,
      // Only the tree merges partial results.
      ...(tree ? { MERGE: f.merge } : {}),
      RESULT: f.result,
    },
  }));
  const values = { nOut, nRed, rankK: kShape.length, rankR: rShape.length, kShape, kStride, rShape, rStride };
  run(k, [x, y], { ...values, scale: nChunks > 1 ? 1 : scale, chunk: tree ? CHUNK : nRed, nChunks }, tree ? grid1d(nOut * nChunks, 1) : grid1d(nOut, wg), op);
  if (nChunks === 1) return y;
  const total = reduceKernel(op, kind, y, [1], false, scale);
  y.dispose();
  const shaped = total.view(outShape);
  total.dispose();
  return shaped;
}

export function sum(x: Tensor, axes?: number | number[], keepDim = false): Tensor {
  const ax = normAxes('sum', x, axes);
  const y = reduceKernel('sum', 'sum', x, ax, keepDim);
  return record(y, 'sum', [x], [], (g) => [expand(keepDim ? g : reshape(g, keptShape(x.shape, ax)), x.shape)]);
}

/** Index of the first maximum along one axis (i32). */
export function argmax(x: Tensor, axis: number, keepDim = false): Tensor {
  const a = normAxis('argmax', axis, x.rank);
  return reduceKernel('argmax', 'argmax', x, [a], keepDim);
}

/** Sum a broadcast gradient back down to `shape` (NumPy broadcasting rules, in reverse). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError('sumTo', 'target has higher rank than the gradient', [g.shape, shape]);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}

/** Merge dims i, i+1 when stride[i] = shape[i+1]·stride[i+1] (and drop size-1 dims). */
function collapse(shape: number[], stride: number[]): [number[], number[]] {
  const s: number[] = [];
  const t: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = s.length - 1;
    if (last >= 0 && t[last] === d * stride[i]) {
      s[last] *= d;
      t[last] = stride[i];
    } else {
      s.push(d);
      t.push(stride[i]);
    }
  });
  return [s, t];
}

export function keptShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Broadcast to `shape` (materialised); its gradient is `sumTo`. */
export function expand(x: Tensor, shape: Shape): Tensor {
  if (x.rank === shape.length && x.shape.every((d, i) => d === shape[i])) return reshape(x, shape);
  const lead = shape.length - x.rank;
  if (lead < 0) throw new ShapeError('expand', 'target rank is lower than the input rank', [x.shape, shape]);
  const xs = stridesOf(x.shape);
  const strides = shape.map((d, i) => {
    if (i < lead) return 0;
    const xd = x.shape[i - lead];
    if (xd !== d && xd !== 1) throw new ShapeError('expand', `dimension ${i} (${xd}) cannot expand to ${d}`, [x.shape, shape]);
    return xd === 1 ? 0 : xs[i - lead];
  });
  const y = stridedCopy('expand', x, shape, strides, 0);
  return record(y, 'expand', [x], [], (g) => [sumTo(g, x.shape)]);
}
