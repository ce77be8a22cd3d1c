// Fused bias + activation + gain + clamp: StyleGAN2-ADA's bias_act (torch_utils/ops/bias_act.py)
// for its piecewise-linear activations. Forward is one kernel; backward is one kernel computing
// dx from dy and the saved output y (db is dx summed over every axis but `dim`). The backward is
// linear in dy with a mask that is constant almost everywhere, so its own gradient is the same
// kernel applied to the incoming gradient: second (and higher) derivatives are exact, as published.
// Cache key: activation and direction (they change the WGSL); alpha, gain, clamp and sizes are uniforms.
import source from '../shaders/bias-act.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { normAxis, ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { sum } from './reduce.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 256;

const FORWARD = uniforms('Params', { n: 'u32', inner: 'u32', channels: 'u32', hasBias: 'u32', alpha: 'f32', gain: 'f32', clampTo: 'f32' });
const BACKWARD = uniforms('Params', { n: 'u32', alpha: 'f32', gain: 'f32', clampTo: 'f32' });

export type Activation = 'linear' | 'relu' | 'lrelu';

/** Published activation table: the function, its slope given the pre-gain output r, and defaults. */
const ACTIVATIONS: Record<Activation, { act: string; slope: string; alpha: number; gain: number }> = {
  linear: { act: 'v', slope: '1.0', alpha: 0, gain: 1 },
  relu: { act: 'max(v, 0.0)', slope: 'select(0.0, 1.0, r > 0.0)', alpha: 0, gain: Math.SQRT2 },
  lrelu: { act: 'select(v * P.alpha, v, v > 0.0)', slope: 'select(P.alpha, 1.0, r > 0.0)', alpha: 0.2, gain: Math.SQRT2 },
};

export interface BiasActOptions {
  act?: Activation;
  /** Negative slope of lrelu (default 0.2). */
  alpha?: number;
  /** Output scale (default √2 for relu and lrelu, 1 for linear). */
  gain?: number;
  /** Clamp the output to [−clamp, clamp]; null or undefined: no clamping. */
  clamp?: number | null;
  /** The axis of x the bias runs along (default 1, channels of NCHW). */
  dim?: number;
}

interface Resolved {
  act: Activation;
  alpha: number;
  gain: number;
  /** −1 disables clamping (the published convention). */
  clampTo: number;
}

/** y = clamp(act(x + b) · gain, −clamp, clamp), b broadcast along `dim`. */
export function biasAct(x: Tensor, bias?: Tensor | null, opts: BiasActOptions = {}): Tensor {
  const op = 'biasAct';
  const act = opts.act ?? 'linear';
  const spec = ACTIVATIONS[act];
  if (!spec) throw new ShapeError(op, `unknown activation '${act}' (linear, relu or lrelu)`, [x.shape]);
  if (x.dtype !== 'f32') throw new ShapeError(op, `expects an f32 input, got ${x.dtype}`, [x.shape]);
  if (opts.clamp != null && !(opts.clamp >= 0)) throw new ShapeError(op, `clamp must be ≥ 0, got ${opts.clamp}`, [x.shape]);
  const r: Resolved = { act, alpha: opts.alpha ?? spec.alpha, gain: opts.gain ?? spec.gain, clampTo: opts.clamp ?? -1 };
  const b = bias ?? null;
  let dim = 0;
  if (b) {
    dim = normAxis(op, opts.dim ?? 1, x.rank);
    if (b.rank !== 1 || b.shape[0] !== x.shape[dim] || b.dtype !== 'f32') {
      throw new ShapeError(op, `bias must be f32 [${x.shape[dim]}] (the size of x along dim ${dim})`, [x.shape, b.shape]);
    }
  }

  const y = out(x.shape, 'f32', op);
  if (y.size) {
    const inner = x.shape.slice(dim + 1).reduce((s, d) => s * d, 1);
    const values = { n: y.size, inner, channels: b ? b.shape[0] : 1, hasBias: b ? 1 : 0, alpha: r.alpha, gain: r.gain, clampTo: r.clampTo };
    const k = kernel(`biasAct:forward:${act}`, FORWARD, WG, () => ({ body: SRC.forward, slots: { ACT: spec.act } }));
    // Without a bias, x fills the bias slot (both read-only; the kernel never reads it).
    run(k, [x, b ?? x, y], values, grid1d(y.size, WG), op);
  }
  return record(y, op, b ? [x, b] : [x], [y], (g, [sy]) => {
    const dx = biasActGrad(g, sy, r);
    if (!b?.requiresGrad) return [dx, null];
    const axes = x.shape.map((_, i) => i).filter((i) => i !== dim);
    return [dx, sum(dx, axes)];
  });
}

/** dx for incoming gradient dy given the forward's output y; differentiable in dy (y is a constant). */
function biasActGrad(dy: Tensor, y: Tensor, r: Resolved): Tensor {
  const op = 'biasActGrad';
  const dx = out(dy.shape, 'f32', op);
  if (dx.size) {
    const k = kernel(`biasAct:backward:${r.act}`, BACKWARD, WG, () => ({ body: SRC.backward, slots: { SLOPE: ACTIVATIONS[r.act].slope } }));
    run(k, [dy, y, dx], { n: dx.size, alpha: r.alpha, gain: r.gain, clampTo: r.clampTo }, grid1d(dx.size, WG), op);
  }
  // The slope mask is piecewise constant in y, so the derivative through y is zero almost everywhere.
  return record(dx, op, [dy], [y], (g, [sy]) => [biasActGrad(g, sy, r)]);
}
