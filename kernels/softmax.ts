// Softmax and log-softmax along any axis: one fused, numerically stable kernel (see
// shaders/softmax.wgsl). Key: the result formula and the strategy (row length decides it); sizes
// travel in uniforms. Gradients are written in differentiable ops so second derivatives work.
import source from '../shaders/softmax.wgsl';
import { noGrad, record } from '../src/engine/autograd/graph.js';
import { normAxis, numel, ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { div, exp, log, mul, sub } from './elementwise.js';
import { sum } from './reduce.js';
import { max } from './reduce-stats.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);

/** Rows up to this length get one invocation each (2 passes × 128 loop iterations). */
const ROW_THRESHOLD = 128;
/**
 * Rows up to this length get one workgroup each (2 passes × 32 iterations per invocation); longer
 * ones are reduced by many workgroups in chunks (one workgroup per row would leave a GPU idle).
 */
const TREE_LIMIT = 8192;
const ROW_WG = 64;
const TREE_WG = 256;

const PARAMS = uniforms('Params', { rows: 'u32', C: 'u32', inner: 'u32' });

type Form = 'softmax' | 'logSoftmax';

const RESULT: Record<Form, string> = {
  softmax: 'exp(x - m) / s',
  logSoftmax: 'x - m - log(s)',
};

function checkInput(op: string, x: Tensor): void {
  if (x.dtype !== 'f32') throw new ShapeError(op, `expects an f32 tensor, got ${x.dtype}`, [x.shape]);
  if (x.rank === 0) throw new ShapeError(op, 'needs at least one dimension', [x.shape]);
}

function softmaxKernel(op: Form, x: Tensor, axis: number): Tensor {
  const C = x.shape[axis];
  if (C > TREE_LIMIT) return composed(op, x, axis);
  const inner = numel(x.shape.slice(axis + 1));
  const rows = x.size / Math.max(C, 1);
  const y = out(x.shape, 'f32', op);
  if (!x.size) return y;
  const tree = C > ROW_THRESHOLD;
  const k = kernel(`softmax:${op}:${tree ? 'tree' : 'rows'}`, PARAMS, tree ? TREE_WG : ROW_WG, () => ({
    body: tree ? SRC.tree : SRC.rows,
    slots: { RESULT: RESULT[op] },
  }));
  run(k, [x, y], { rows, C, inner }, tree ? grid1d(rows, 1) : grid1d(rows, ROW_WG), op);
  return y;
}

/**
 * Very long rows (beyond TREE_LIMIT) go through the chunked reductions instead:
 * four dispatches rather than one, still stable. Not recorded: the callers record the fused rule.
 */
function composed(op: Form, x: Tensor, axis: number): Tensor {
  return noGrad(() => {
    const m = max(x, axis, true);
    const shifted = sub(x, m);
    const e = exp(shifted);
    const s = sum(e, axis, true);
    let y: Tensor;
    if (op === 'softmax') y = div(e, s);
    else {
      const ls = log(s);
      y = sub(shifted, ls);
      ls.dispose();
    }
    for (const t of [m, shifted, e, s]) t.dispose();
    return y;
  });
}

/** softmax(x) along `axis`: exp(x − max) / Σ exp(x − max). */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkInput('softmax', x);
  const a = normAxis('softmax', axis, x.rank);
  const y = softmaxKernel('softmax', x, a);
  // dx = y · (g − Σ g·y)
  return record(y, 'softmax', [x], [y], (g, [sy]) => [mul(sy, sub(g, sum(mul(g, sy), a, true)))]);
}

/** log(softmax(x)) along `axis`, computed as x − max − log Σ exp(x − max). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkInput('logSoftmax', x);
  const a = normAxis('logSoftmax', axis, x.rank);
  const y = softmaxKernel('logSoftmax', x, a);
  // dx = g − softmax(x) · Σ g, with softmax(x) = exp(y)
  return record(y, 'logSoftmax', [x], [y], (g, [sy]) => [sub(g, mul(exp(sy), sum(g, a, true)))]);
}
