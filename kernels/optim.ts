// Fused in-place optimiser updates (SGD, Adam/AdamW) and the exponential moving average. These are
// not autograd ops: each is one dispatch that rewrites a parameter (and its optimiser state) in its
// own buffer, so parameters keep their identity and no tensors are allocated per step. Like PyTorch's
// in-place updates under no_grad, they must not run on a tensor a retained graph still needs.
// `range` updates elements [start, start + count) of equally sized operands only: the optimisers'
// arenas (src/engine/nn/arena.ts) update a run of parameters per dispatch that way.
// Cache keys: the kernel's name only (hyper-parameters, bias corrections and the range travel in uniforms).
import source from '../shaders/optim.wgsl';
import { ShapeError, sameShape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, run, sections } from './common.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 256;

const SGD = uniforms('Params', { base: 'u32', n: 'u32', lr: 'f32', weight_decay: 'f32' });
const SGD_MOMENTUM = uniforms('Params', { base: 'u32', n: 'u32', first: 'u32', nesterov: 'u32', lr: 'f32', momentum: 'f32', dampening: 'f32', weight_decay: 'f32' });
const ADAM = uniforms('Params', {
  base: 'u32',
  n: 'u32',
  decoupled: 'u32',
  lr: 'f32',
  beta1: 'f32',
  beta2: 'f32',
  eps: 'f32',
  weight_decay: 'f32',
  step_size: 'f32',
  bias_correction2_sqrt: 'f32',
});
const EMA = uniforms('Params', { n: 'u32', alpha: 'f32' });

/** Elements [start, start + count) of the operands; the whole tensors when absent. */
export type UpdateRange = readonly [start: number, count: number];

/** The range an update covers, checked against the target's size. */
function rangeOf(op: string, target: Tensor, range: UpdateRange | undefined): { base: number; n: number } {
  if (!range) return { base: 0, n: target.size };
  const [base, n] = range;
  if (!Number.isInteger(base) || !Number.isInteger(n) || base < 0 || n < 0 || base + n > target.size) {
    throw new ShapeError(op, `range [${base}, ${base + n}) lies outside the ${target.size} elements`, [target.shape]);
  }
  return { base, n };
}

/** f32, same shape, and distinct buffers (a buffer may not be bound read-only and read-write at once). */
function checkOperands(op: string, target: Tensor, others: Tensor[]): void {
  for (const t of [target, ...others]) {
    if (t.dtype !== 'f32') throw new ShapeError(op, `expects f32 tensors, got ${t.dtype}`, [t.shape]);
  }
  for (const t of others) {
    if (!sameShape(t.shape, target.shape)) throw new ShapeError(op, 'operands must have the same shape', [target.shape, t.shape]);
  }
  const buffers = [target, ...others].map((t) => t.buffer(op));
  if (new Set(buffers).size !== buffers.length) {
    throw new ShapeError(op, 'operands share storage; an in-place update needs distinct buffers', [target.shape]);
  }
}

export interface SgdUpdateOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** True on a momentum buffer's first step: it is then set to the gradient (its old contents are ignored). */
  firstStep?: boolean;
  range?: UpdateRange;
}

/**
 * One SGD step on `param` in place (PyTorch semantics). `momentumBuffer` (same shape) is required
 * when momentum ≠ 0 and is updated in place; on `firstStep` its previous contents are never read.
 */
export function sgdUpdate(param: Tensor, grad: Tensor, momentumBuffer: Tensor | null, o: SgdUpdateOptions): void {
  const momentum = o.momentum ?? 0;
  const dampening = o.dampening ?? 0;
  const weightDecay = o.weightDecay ?? 0;
  const nesterov = o.nesterov ?? false;
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new Error('sgdUpdate: nesterov momentum requires a momentum > 0 and zero dampening');
  }
  if (momentum !== 0 && !momentumBuffer) throw new Error('sgdUpdate: momentum ≠ 0 needs a momentum buffer');
  const useMomentum = momentum !== 0;
  checkOperands('sgdUpdate', param, useMomentum ? [grad, momentumBuffer!] : [grad]);
  const { base, n } = rangeOf('sgdUpdate', param, o.range);
  if (n === 0) return;
  if (useMomentum) {
    const k = kernel('optim:sgd_momentum', SGD_MOMENTUM, WG, () => ({ body: SRC.sgd_momentum }));
    const values = { base, n, first: o.firstStep ? 1 : 0, nesterov: nesterov ? 1 : 0, lr: o.lr, momentum, dampening, weight_decay: weightDecay };
    run(k, [param, grad, momentumBuffer!], values, grid1d(n, WG), 'sgdUpdate');
  } else {
    const k = kernel('optim:sgd', SGD, WG, () => ({ body: SRC.sgd }));
    run(k, [param, grad], { base, n, lr: o.lr, weight_decay: weightDecay }, grid1d(n, WG), 'sgdUpdate');
  }
}

export interface AdamUpdateOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: decay the weights directly (p ← p·(1 − lr·wd)) instead of adding wd·p to the gradient. */
  decoupled?: boolean;
  /** 1-based count of steps taken with this state, including this one (for the bias corrections). */
  step: number;
  range?: UpdateRange;
}

/** One Adam/AdamW step on `param` in place; `expAvg` and `expAvgSq` (zeros before step 1) are updated in place. */
export function adamUpdate(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, o: AdamUpdateOptions): void {
  const beta1 = o.beta1 ?? 0.9;
  const beta2 = o.beta2 ?? 0.999;
  if (!Number.isInteger(o.step) || o.step < 1) throw new Error(`adamUpdate: step must be a positive integer, got ${o.step}`);
  checkOperands('adamUpdate', param, [grad, expAvg, expAvgSq]);
  const { base, n } = rangeOf('adamUpdate', param, o.range);
  if (n === 0) return;
  // Computed in f64 here, as PyTorch does on the host for its non-capturable path.
  const stepSize = o.lr / (1 - beta1 ** o.step);
  const bias2Sqrt = Math.sqrt(1 - beta2 ** o.step);
  const k = kernel('optim:adam', ADAM, WG, () => ({ body: SRC.adam }));
  const values = {
    base,
    n,
    decoupled: o.decoupled ? 1 : 0,
    lr: o.lr,
    beta1,
    beta2,
    eps: o.eps ?? 1e-8,
    weight_decay: o.weightDecay ?? 0,
    step_size: stepSize,
    bias_correction2_sqrt: bias2Sqrt,
  };
  run(k, [param, grad, expAvg, expAvgSq], values, grid1d(n, WG), 'adamUpdate');
}

/** target ← α·target + (1 − α)·source, in place (mean-teacher weights, BatchNorm running statistics). */
export function emaUpdate(target: Tensor, source: Tensor, alpha: number): void {
  checkOperands('emaUpdate', target, [source]);
  if (target.size === 0) return;
  const k = kernel('optim:ema', EMA, WG, () => ({ body: SRC.ema }));
  run(k, [target, source], { n: target.size, alpha }, grid1d(target.size, WG), 'emaUpdate');
}
