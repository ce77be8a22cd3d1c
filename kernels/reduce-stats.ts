// Mean and max over axes: reductions on the reduce kernel family (reduce.ts) whose gradients need
// elementwise arithmetic, so they sit one layer above both — elementwise imports reduce (for sumTo),
// and this file imports the two, which keeps the kernel modules free of import cycles.
import { record } from '../src/engine/autograd/graph.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { div, equal, mul } from './elementwise.js';
import { expand, keptShape, normAxes, reduceKernel } from './reduce.js';
import { reshape } from './shape-ops.js';

export function mean(x: Tensor, axes?: number | number[], keepDim = false): Tensor {
  const ax = normAxes('mean', x, axes);
  const n = ax.reduce((s, a) => s * x.shape[a], 1);
  const y = reduceKernel('mean', 'sum', x, ax, keepDim, 1 / Math.max(n, 1));
  return record(y, 'mean', [x], [], (g) => [mul(expand(keepDim ? g : reshape(g, keptShape(x.shape, ax)), x.shape), 1 / n)]);
}

/** Maximum over axes; the gradient is shared evenly among tied maxima (torch.amax semantics). */
export function max(x: Tensor, axes?: number | number[], keepDim = false): Tensor {
  const ax = normAxes('max', x, axes);
  const y = reduceKernel('max', 'max', x, ax, keepDim);
  return record(y, 'max', [x], [x, y], (g, [sx, sy]) => {
    const yk = keepDim ? sy : reshape(sy, keptShape(x.shape, ax));
    const gk = keepDim ? g : reshape(g, keptShape(x.shape, ax));
    const mask = equal(sx, yk);
    const count = reduceKernel('max', 'sum', mask, ax, true);
    return [mul(mask, div(gk, count))];
  });
}
