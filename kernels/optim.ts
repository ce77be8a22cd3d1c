// Fused in-place optimiser updates (SGD, Adam/AdamW) and the exponential moving average. These are
// not autograd ops: each is one dispatch that rewrites a parameter (and its optimiser state) in its
// own buffer, so parameters keep their identity and no tensors are allocated per step. Like PyTorch's
// in-place updates under no_grad, they must not run on a tensor a retained graph still needs.
// Cache keys: the kernel's name only (hyper-parameters and bias corrections travel in uniforms).
import source from '../shaders/optim.wgsl';
import { ShapeError, sameShape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, Params, run, sections } from './common.js';

const SRC = sections(source);
const WG = 256;

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
  if (param.size === 0) return;
  if (useMomentum) {
    const spec = { key: 'optim:sgd_momentum', source: () => SRC.sgd_momentum };
    const p = new Params().u32(param.size, o.firstStep ? 1 : 0, nesterov ? 1 : 0, 0).f32(o.lr, momentum, dampening, weightDecay);
    run(spec, [param, grad, momentumBuffer!], p, grid1d(param.size, WG), 'sgdUpdate');
  } else {
    const spec = { key: 'optim:sgd', source: () => SRC.sgd };
    run(spec, [param, grad], new Params().u32(param.size).f32(o.lr, weightDecay), grid1d(param.size, WG), 'sgdUpdate');
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
}

/** One Adam/AdamW step on `param` in place; `expAvg` and `expAvgSq` (zeros before step 1) are updated in place. */
export function adamUpdate(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, o: AdamUpdateOptions): void {
  const beta1 = o.beta1 ?? 0.9;
  const beta2 = o.beta2 ?? 0.999;
  if (!Number.isInteger(o.step) || o.step < 1) throw new Error(`adamUpdate: step must be a positive integer, got ${o.step}`);
  checkOperands('adamUpdate', param, [grad, expAvg, expAvgSq]);
  if (param.size === 0) return;
  // Computed in f64 here, as PyTorch does on the host for its non-capturable path.
  const stepSize = o.lr / (1 - beta1 ** o.step);
  const bias2Sqrt = Math.sqrt(1 - beta2 ** o.step);
  const spec = { key: 'optim:adam', source: () => SRC.adam };
  const p = new Params()
    .u32(param.size, o.decoupled ? 1 : 0, 0, 0)
    .f32(o.lr, beta1, beta2, o.eps ?? 1e-8, o.weightDecay ?? 0, stepSize, bias2Sqrt, 0);
  run(spec, [param, grad, expAvg, expAvgSq], p, grid1d(param.size, WG), 'adamUpdate');
}

/** target ← α·target + (1 − α)·source, in place (mean-teacher weights, BatchNorm running statistics). */
export function emaUpdate(target: Tensor, source: Tensor, alpha: number): void {
  checkOperands('emaUpdate', target, [source]);
  if (target.size === 0) return;
  const spec = { key: 'optim:ema', source: () => SRC.ema };
  run(spec, [target, source], new Params().u32(target.size).f32(alpha), grid1d(target.size, WG), 'emaUpdate');
}
