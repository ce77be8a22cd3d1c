import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read, centralDifferences } from './helpers.js';

type Act = 'linear' | 'relu' | 'lrelu';

/** f64 reference of the published _bias_act_ref. */
function refBiasAct(x: Float64Array, shape: number[], b: Float64Array | null, dim: number, act: Act, alpha: number, gain: number, clamp: number | null) {
  const inner = shape.slice(dim + 1).reduce((s, d) => s * d, 1);
  return x.map((v, i) => {
    let t = v + (b ? b[Math.floor(i / inner) % shape[dim]] : 0);
    if (act === 'relu') t = Math.max(t, 0);
    if (act === 'lrelu') t = t > 0 ? t : t * alpha;
    t *= gain;
    return clamp === null ? t : Math.min(clamp, Math.max(-clamp, t));
  });
}

const cases: { name: string; shape: number[]; dim: number; bias: boolean; act: Act; alpha?: number; gain?: number; clamp?: number }[] = [
  { name: 'lrelu defaults, bias on channels', shape: [2, 3, 5, 7], dim: 1, bias: true, act: 'lrelu' },
  { name: 'lrelu alpha 0.1, gain 0.7, clamp 0.5', shape: [2, 3, 5, 7], dim: 1, bias: true, act: 'lrelu', alpha: 0.1, gain: 0.7, clamp: 0.5 },
  { name: 'relu, bias along the last axis of a 2-D input', shape: [3, 37], dim: 1, bias: true, act: 'relu' },
  { name: 'relu, bias along dim 3', shape: [2, 1, 3, 5], dim: 3, bias: true, act: 'relu', clamp: 0.8 },
  { name: 'linear with bias and gain (a fully connected layer)', shape: [2, 5], dim: 1, bias: true, act: 'linear', gain: 0.25 },
  { name: 'linear, no bias, clamp only', shape: [2, 3, 4, 1], dim: 1, bias: false, act: 'linear', clamp: 0.3 },
];

const defaultGain = (act: Act) => (act === 'linear' ? 1 : Math.SQRT2);

for (const cs of cases) {
  test(`biasAct forward: ${cs.name}`, async () => {
    const { t: x, v } = randTensor(cs.shape, 1, -2, 2);
    const b = cs.bias ? randTensor([cs.shape[cs.dim]], 2) : null;
    const y = E.biasAct(x, b?.t, { act: cs.act, alpha: cs.alpha, gain: cs.gain, clamp: cs.clamp, dim: cs.dim });
    const want = refBiasAct(v, cs.shape, b?.v ?? null, cs.dim, cs.act, cs.alpha ?? 0.2, cs.gain ?? defaultGain(cs.act), cs.clamp ?? null);
    // One add and one multiply in f32: rel 1e-6.
    assertClose(await read(y), want, 1e-6, 1e-7, cs.name);
    for (const t of [x, b?.t, y]) t?.dispose();
  });

  test(`biasAct gradient (x and bias) by finite differences: ${cs.name}`, async () => {
    const n = cs.shape.reduce((s, d) => s * d, 1);
    const bv = randArray(cs.shape[cs.dim], 2);
    // Keep x + b away from the kinks (0 and ±clamp/gain) so central differences see one piece.
    const inner = cs.shape.slice(cs.dim + 1).reduce((s, d) => s * d, 1);
    const g = cs.gain ?? defaultGain(cs.act);
    const kinks = [0, ...(cs.clamp !== undefined ? [cs.clamp / g, -cs.clamp / g, cs.clamp / (g * (cs.alpha ?? 0.2)), -cs.clamp / (g * (cs.alpha ?? 0.2))] : [])];
    const xv = randArray(n, 3, -2, 2).map((v, i) => {
      const pre = v + (cs.bias ? bv[Math.floor(i / inner) % cs.shape[cs.dim]] : 0);
      return kinks.some((k) => Math.abs(pre - k) < 0.05) ? v + 0.11 : v;
    });
    const opts = { act: cs.act, alpha: cs.alpha, gain: cs.gain, clamp: cs.clamp, dim: cs.dim };
    const inputs = [{ shape: cs.shape, v: xv }, ...(cs.bias ? [{ shape: [cs.shape[cs.dim]], v: bv }] : [])];
    // Piecewise linear: differences are exact up to f32 rounding of the loss.
    await gradCheck((x, b) => E.biasAct(x, b ?? null, opts), inputs, { what: cs.name, rtol: 1e-2, atol: 1e-2 });
  });
}

test('biasAct second derivatives: ∂/∂(x, b) of ‖∂L/∂x‖² + ‖∂L/∂b‖² with L = Σ tanh(biasAct(x, b))·r', async () => {
  const shape = [2, 3, 2, 3];
  const opts = { act: 'lrelu' as const, clamp: 1.5 };
  const r = E.tensor(Float32Array.from(randArray(36, 7)), shape);
  const penalty = (xv: Float64Array, bv: Float64Array, createGraph: boolean) => {
    const x = E.tensor(Float32Array.from(xv), shape);
    const b = E.tensor(Float32Array.from(bv), [3]);
    x.requiresGrad = b.requiresGrad = true;
    const loss = E.sum(E.mul(E.tanh(E.biasAct(x, b, opts)), r));
    const [gx, gb] = E.grad(loss, [x, b], { createGraph });
    return { x, b, p: E.add(E.sum(E.mul(gx!, gx!)), E.sum(E.mul(gb!, gb!))) };
  };
  const bv = Float64Array.from([0.3, -0.2, 0.1]);
  // Pre-activations away from 0 and from the clamp points ±1.5/√2 and ±1.5/(0.2·√2).
  const xv = Float64Array.from(randArray(36, 8, -1.5, 1.5).map((v, i) => {
    const pre = v + bv[Math.floor(i / 6) % 3];
    return [0, 1.5 / Math.SQRT2, -1.5 / Math.SQRT2].some((k) => Math.abs(pre - k) < 0.05) ? v + 0.11 : v;
  }));
  const { x, b, p } = penalty(xv, bv, true);
  E.backward(p);
  const analytic = [await read(x.grad!), await read(b.grad!)];
  const valueAt = async (xa: Float64Array, ba: Float64Array) => {
    const t = E.tidy(() => penalty(xa, ba, false).p);
    const v = await t.item();
    t.dispose();
    return v;
  };
  const numeric = await centralDifferences(valueAt, [xv, bv], 1e-2);
  // f32 penalty differenced with h = 1e-2: rel 2e-2, abs 5e-3.
  for (const k of [0, 1]) assertClose(analytic[k], numeric[k], 2e-2, 5e-3, k === 0 ? 'd/dx' : 'd/db');
  for (const t of [r, x, b, p, x.grad, b.grad]) t?.dispose();
});

test('biasAct errors name the op and the shapes', () => {
  const x = E.zeros([2, 3, 4, 4]);
  const b = E.zeros([4]);
  assert.throws(() => E.biasAct(x, b), /biasAct: bias must be f32 \[3\].*\[2, 3, 4, 4\], \[4\]/);
  assert.throws(() => E.biasAct(x, null, { clamp: -1 }), /biasAct: clamp must be ≥ 0/);
  x.dispose();
  b.dispose();
});

test.run();
