// Test helpers: a seeded CPU RNG, float64 comparisons with stated tolerances, and a finite-difference
// gradient check that drives the GPU op itself.
import * as assert from 'uvu/assert';
import { backward, fmtShape, noGrad, tensor, tidy, type Tensor } from '../src/index.js';

/** Mulberry32: small, seeded, good enough for test data. */
export function rng(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randArray(n: number, seed = 1, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

export function randTensor(shape: number[], seed = 1, lo = -1, hi = 1): { t: Tensor; v: Float64Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = randArray(n, seed, lo, hi);
  // Round the reference to f32 so that the CPU side sees exactly what the GPU sees.
  const f = Float32Array.from(v);
  return { t: tensor(f, shape), v: Float64Array.from(f) };
}

/** |got − want| ≤ atol + rtol·|want| elementwise; the message names the worst element. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what = ''): void {
  assert.is(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    const excess = err - (atol + rtol * Math.abs(want[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(err))) {
      worst = i;
      worstExcess = Number.isNaN(err) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    assert.unreachable(`${what}: element ${worst}: got ${got[worst]}, want ${want[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

export async function read(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

/**
 * Check autograd against central finite differences of the GPU op itself in f32 (so tolerances are
 * loose: h = 1e-2 on O(1) inputs). `f` maps inputs to a tensor; the loss is Σ f(x)·w for a fixed
 * random w, so every output element matters.
 */
export async function gradCheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: { shape: number[]; v?: Float64Array; seed?: number; lo?: number; hi?: number }[],
  opts: { h?: number; rtol?: number; atol?: number; what?: string } = {},
): Promise<void> {
  const h = opts.h ?? 1e-2;
  const values = inputs.map((s, k) => s.v ?? randArray(s.shape.reduce((a, b) => a * b, 1), s.seed ?? 10 + k, s.lo ?? -1, s.hi ?? 1));
  const make = (vals: Float64Array[], grad: boolean) =>
    vals.map((v, k) => {
      const t = tensor(Float32Array.from(v), inputs[k].shape);
      t.requiresGrad = grad;
      return t;
    });
  // Weights for the scalar loss.
  const probe = noGrad(() => tidy(() => f(...make(values, false)).shape.slice()));
  const wv = randArray(probe.reduce((a, b) => a * b, 1), 999);
  const lossOf = async (vals: Float64Array[]) => {
    const ys = await noGrad(() => tidy(() => f(...make(vals, false)))).data();
    let s = 0;
    for (let i = 0; i < ys.length; i++) s += ys[i] * wv[i];
    return s;
  };
  const xs = make(values, true);
  const y = f(...xs);
  const w = tensor(Float32Array.from(wv), y.shape);
  backward(y, { grad: w });
  for (let k = 0; k < inputs.length; k++) {
    const analytic = await xs[k].grad!.data();
    const numeric = new Float64Array(values[k].length);
    for (let i = 0; i < values[k].length; i++) {
      const plus = values.map((v) => Float64Array.from(v));
      const minus = values.map((v) => Float64Array.from(v));
      plus[k][i] += h;
      minus[k][i] -= h;
      numeric[i] = ((await lossOf(plus)) - (await lossOf(minus))) / (2 * h);
    }
    assertClose(analytic, numeric, opts.rtol ?? 2e-2, opts.atol ?? 2e-2, `${opts.what ?? 'grad'} input ${k} ${fmtShape(inputs[k].shape)}`);
  }
  for (const x of xs) {
    x.grad?.dispose();
    x.dispose();
  }
  y.dispose();
  w.dispose();
}

/** Run `fn` with console.error silenced (trainers print progress there). */
/**
 * Central differences (h) of a scalar function of several float64 arrays, with respect to each array
 * in turn — for checking gradients of quantities that are themselves built from gradients (R1-style
 * penalties), where gradCheck's tensor inputs do not fit.
 */
export async function centralDifferences(f: (...args: Float64Array[]) => Promise<number>, args: Float64Array[], h: number): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (const [k, base] of args.entries()) {
    const numeric = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const shifted = (delta: number) => args.map((a, j) => (j === k ? Float64Array.from(a, (v, n) => (n === i ? v + delta : v)) : a));
      numeric[i] = ((await f(...shifted(h))) - (await f(...shifted(-h)))) / (2 * h);
    }
    out.push(numeric);
  }
  return out;
}

export function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const err = console.error;
  console.error = () => {};
  return fn().finally(() => (console.error = err));
}

/** The promise rejects with an error whose message matches `pattern` (uvu has no assert.rejects). */
export async function rejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return e as Error;
  }
  return assert.unreachable(`resolved; expected a rejection matching ${pattern}`) as never;
}
