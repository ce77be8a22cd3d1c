// One-hot encoding and soft-target cross-entropy (shaders/cross-entropy.wgsl). Key: the kernel name only;
// sizes and the mean's scale travel in uniforms. The forward is one fused kernel per position plus a
// mean; the first-order backward is one fused kernel per input, and under createGraph the same rule
// is written in differentiable ops instead.
import source from '../shaders/cross-entropy.wgsl';
import { isGradEnabled, noGrad, record } from '../src/engine/autograd/graph.js';
import { normAxis, numel, sameShape, ShapeError } from '../src/engine/tensor/shape.js';
import { tidy } from '../src/engine/tensor/scope.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { expectDtype, grid1d, kernel, out, run, sections } from './common.js';
import { mul, neg, sub } from './elementwise.js';
import { sum } from './reduce.js';
import { mean } from './reduce-stats.js';
import { logSoftmax, softmax } from './softmax.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 64;
/** Classes per row up to which one invocation handles a row (3 passes × 128 loop iterations). */
const ROW_CLASSES = 128;

const PARAMS = uniforms('Params', { rows: 'u32', C: 'u32', inner: 'u32', scale: 'f32' });
type Name = 'oneHot' | 'crossEntropyRows' | 'crossEntropyGradLogits' | 'crossEntropyGradTarget';
const spec = (name: Name) => kernel(`loss:${name}`, PARAMS, WG, () => ({ body: SRC[name] }));

/** [outer, C, inner] view of `shape` around `axis`. */
function rowGeometry(shape: readonly number[], axis: number) {
  const C = shape[axis];
  const inner = numel(shape.slice(axis + 1));
  const rows = numel(shape) / Math.max(C, 1);
  return { C, inner, rows };
}

/**
 * One-hot encode i32 labels: a class axis of length `numClasses` is inserted at `axis` (labels
 * [B, H, W] → [B, C, H, W] for axis 1). Labels outside [0, numClasses) — the GPU cannot cheaply
 * report them — give an all-zero row, which also suits "ignore" labels such as 255.
 */
export function oneHot(labels: Tensor, numClasses: number, axis = 1): Tensor {
  expectDtype('oneHot', labels, 'i32');
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ShapeError('oneHot', `numClasses must be a positive integer, got ${numClasses}`, [labels.shape]);
  const a = normAxis('oneHot', axis, labels.rank + 1);
  const shape = [...labels.shape.slice(0, a), numClasses, ...labels.shape.slice(a)];
  const y = out(shape, 'f32', 'oneHot');
  if (!y.size) return y;
  const { inner, rows } = rowGeometry(shape, a);
  run(spec('oneHot'), [labels, y], { rows, C: numClasses, inner, scale: 0 }, grid1d(y.size, WG), 'oneHot');
  return y;
}

/**
 * Cross-entropy with probability targets: −Σ_c t·log_softmax(logits) along `axis`, averaged over
 * all other positions (PyTorch's F.cross_entropy with probability targets, reduction 'mean').
 * Differentiable in both the logits and the target.
 */
export function softCrossEntropy(logits: Tensor, target: Tensor, axis = 1): Tensor {
  const op = 'softCrossEntropy';
  expectDtype(op, logits, 'f32');
  expectDtype(op, target, 'f32');
  if (!sameShape(logits.shape, target.shape)) throw new ShapeError(op, 'logits and target must have the same shape', [logits.shape, target.shape]);
  if (logits.rank === 0) throw new ShapeError(op, 'needs a class axis', [logits.shape]);
  const a = normAxis(op, axis, logits.rank);
  const { C, inner, rows } = rowGeometry(logits.shape, a);
  const scale = 1 / Math.max(rows, 1);
  if (C > ROW_CLASSES || !logits.size) return composedCrossEntropy(logits, target, a);

  const rowLoss = out([rows], 'f32', op);
  const stats = out([rows, 2], 'f32', 'crossEntropyStats'); // (log Σ exp, Σ t) per row
  const p = { rows, C, inner, scale };
  run(spec('crossEntropyRows'), [logits, target, rowLoss, stats], p, grid1d(rows, WG), op);
  const loss = noGrad(() => mean(rowLoss));
  rowLoss.dispose();
  record(loss, op, [logits, target], [logits, target, stats], (g, [x, t, st]) => {
    // Under createGraph the gradient must itself be differentiable: use the op form.
    if (isGradEnabled()) return composedGrads(g, x, t, a, scale);
    const gl = logits.requiresGrad ? out(x.shape, 'f32', 'softCrossEntropyGrad') : null;
    if (gl) run(spec('crossEntropyGradLogits'), [x, t, st, g, gl], p, grid1d(x.size, WG), op);
    const gt = target.requiresGrad ? out(t.shape, 'f32', 'softCrossEntropyGrad') : null;
    if (gt) run(spec('crossEntropyGradTarget'), [x, st, g, gt], p, grid1d(x.size, WG), op);
    return [gl, gt];
  });
  stats.dispose();
  return loss;
}

/** d/dx = g·(softmax(x)·Σt − t)/rows, d/dt = −g·log_softmax(x)/rows, in differentiable ops. */
function composedGrads(g: Tensor, x: Tensor, t: Tensor, axis: number, scale: number): (Tensor | null)[] {
  const gs = mul(g, scale);
  return [
    mul(sub(mul(softmax(x, axis), sum(t, axis, true)), t), gs),
    mul(neg(logSoftmax(x, axis)), gs),
  ];
}

/** Many classes per row (beyond one invocation's loop budget): the same loss from the general ops. */
function composedCrossEntropy(logits: Tensor, target: Tensor, axis: number): Tensor {
  const rows = logits.size / Math.max(logits.shape[axis], 1);
  return tidy(() => mul(sum(mul(target, logSoftmax(logits, axis))), -1 / Math.max(rows, 1)));
}
