import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randArray, read, rng } from './helpers.js';

const LO = 1e-6;
const HI = Math.fround(1 - 1e-6); // the kernels clamp at the f32 value

interface Case {
  shape: number[];
  x: Float64Array;
  t: Float64Array;
}

/** Softmax over C of logits [B, C, H, W] in f64. */
function softmax64(x: Float64Array, [B, C, H, W]: number[]): Float64Array {
  const p = new Float64Array(x.length);
  const P = H * W;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < P; k++) {
      const at = (c: number) => (b * C + c) * P + k;
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, x[at(c)]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(x[at(c)] - m);
      for (let c = 0; c < C; c++) p[at(c)] = Math.exp(x[at(c)] - m) / z;
    }
  }
  return p;
}

const clip = (v: number, on: boolean) => (on ? Math.min(HI, Math.max(LO, v)) : v);

/** Per (b, c): I = Σ q·t, D = Σ q + Σ t + eps. */
function stats({ shape, x, t }: Case, clampOn: boolean, eps: number) {
  const [B, C, H, W] = shape;
  const P = H * W;
  const p = softmax64(x, shape);
  const I = new Float64Array(B * C);
  const D = new Float64Array(B * C).fill(eps);
  let ce = 0;
  for (let i = 0; i < x.length; i++) {
    const bc = Math.floor(i / P);
    const q = clip(p[i], clampOn);
    const tt = clip(t[i], clampOn);
    I[bc] += q * tt;
    D[bc] += q + tt;
    ce -= tt * Math.log(q);
  }
  let ratio = 0;
  for (let k = 0; k < B * C; k++) ratio += (2 * I[k]) / D[k];
  return { p, I, D, dice: 1 - ratio / (B * C), ce: ce / (B * P) };
}

function refLoss(c: Case, clampOn = true, eps = 1e-6) {
  const s = stats(c, clampOn, eps);
  return { loss: s.dice + s.ce, dice: s.dice, ce: s.ce };
}

/**
 * The gradient w.r.t. the logits of a loss whose derivative w.r.t. the probabilities q is dq(b, c, i)
 * (i: the flat index of (b, c, pixel)): g = q ⊙ (h − Σ_c q·h) per pixel, the softmax's Jacobian.
 */
function throughSoftmax([B, C, H, W]: number[], p: Float64Array, dq: (b: number, cl: number, i: number) => number): Float64Array {
  const P = H * W;
  const g = new Float64Array(p.length);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < P; k++) {
      const at = (cl: number) => (b * C + cl) * P + k;
      const h = Array.from({ length: C }, (_, cl) => dq(b, cl, at(cl)));
      let s = 0;
      for (let cl = 0; cl < C; cl++) s += p[at(cl)] * h[cl];
      for (let cl = 0; cl < C; cl++) g[at(cl)] = p[at(cl)] * (h[cl] - s);
    }
  }
  return g;
}

/** The clamp's gate: the gradient passes where q lies inside [LO, HI] (or everywhere, unclamped). */
const gate = (q: number, clampOn: boolean) => (!clampOn || (q >= LO && q <= HI) ? 1 : 0);

/** Analytic f64 gradient w.r.t. the logits: ∂/∂q gated by the clamp, through the softmax. */
function refGrad(c: Case, clampOn = true, eps = 1e-6): Float64Array {
  const [B, C, H, W] = c.shape;
  const P = H * W;
  const { p, I, D } = stats(c, clampOn, eps);
  return throughSoftmax(c.shape, p, (b, cl, i) => {
    const q = clip(p[i], clampOn);
    const tt = clip(c.t[i], clampOn);
    const bc = b * C + cl;
    return gate(p[i], clampOn) * ((-2 / (B * C)) * (tt / D[bc] - I[bc] / (D[bc] * D[bc])) - tt / (q * B * P));
  });
}

/**
 * The paper's form (eq. 13–14) over the batch as one tensor, in f64: I = Σ q·t and D = Σ q + Σ t + eps
 * over (b, c, x, y); Dice = 1 − 2I/D; CE = −Σ t·log q (a sum; unclamped, log q is log-softmax).
 */
function refPaper({ shape, x, t }: Case, clampOn = false, eps = 1e-6) {
  const p = softmax64(x, shape);
  let I = 0;
  let D = eps;
  let ce = 0;
  for (let i = 0; i < x.length; i++) {
    const q = clip(p[i], clampOn);
    const tt = clip(t[i], clampOn);
    I += q * tt;
    D += q + tt;
    ce -= tt * Math.log(q);
  }
  const dice = 1 - (2 * I) / D;
  return { p, I, D, loss: dice + ce, dice, ce };
}

/** Analytic f64 gradient of the paper form: h_c = gate·(−2(t/D − I/D²) − t/q), through the softmax. */
function refGradPaper(c: Case, clampOn = false, eps = 1e-6): Float64Array {
  const { p, I, D } = refPaper(c, clampOn, eps);
  return throughSoftmax(c.shape, p, (_b, _cl, i) => {
    const tt = clip(c.t[i], clampOn);
    return gate(p[i], clampOn) * (-2 * (tt / D - I / (D * D)) - tt / clip(p[i], clampOn));
  });
}

/** Logits (scaled) and soft targets: blends of two one-hots, some exactly 0/1, in f32. */
function makeCase(shape: number[], seed: number, scale = 3): Case {
  const [B, C, H, W] = shape;
  const P = H * W;
  const r = rng(seed);
  const x = Float64Array.from(Float32Array.from(randArray(B * C * P, seed, -scale, scale)));
  const t = new Float64Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < P; k++) {
      const c1 = Math.floor(r() * C);
      const c2 = Math.floor(r() * C);
      const a = r() < 0.5 ? 1 : r();
      t[(b * C + c1) * P + k] += a;
      t[(b * C + c2) * P + k] += 1 - a;
    }
  }
  return { shape, x, t: Float64Array.from(Float32Array.from(t)) };
}

async function fusedRun(c: Case, options: E.SoftSegLossOptions, composed = false) {
  const x = E.tensor(Float32Array.from(c.x), c.shape);
  const t = E.tensor(Float32Array.from(c.t), c.shape);
  x.requiresGrad = true;
  const r = (composed ? E.softSegLossComposed : E.softSegLoss)(x, t, options);
  E.backward(r.loss);
  const out = { loss: await r.loss.item(), dice: await r.dice.item(), ce: await r.ce.item(), grad: await read(x.grad!) };
  for (const v of [x, t, x.grad!, r.loss, r.dice, r.ce]) v.dispose();
  return out;
}

test('reference gradient agrees with f64 finite differences (clamp on and off)', () => {
  const c = makeCase([2, 3, 2, 3], 5);
  for (const clampOn of [true, false]) {
    const g = refGrad(c, clampOn);
    const h = 1e-6;
    const fd = new Float64Array(c.x.length);
    for (let i = 0; i < c.x.length; i++) {
      const xp = Float64Array.from(c.x);
      const xm = Float64Array.from(c.x);
      xp[i] += h;
      xm[i] -= h;
      fd[i] = (refLoss({ ...c, x: xp }, clampOn).loss - refLoss({ ...c, x: xm }, clampOn).loss) / (2 * h);
    }
    assertClose(g, fd, 1e-5, 1e-8, `f64 gradient clamp=${clampOn}`); // central differences in f64
  }
});

test('fused soft Dice + CE: loss, terms and gradient against f64 and the composed ops', async () => {
  const cases: [number[], number][] = [
    [[2, 4, 5, 7], 3],
    [[1, 2, 3, 1], 3],
    [[3, 3, 9, 13], 12], // large logits: probabilities below 1e−6 exercise the clamp's gate
    [[2, 4, 41, 61], 3], // 2,501 pixels: more than one chunk per sample
  ];
  for (const [shape, scale] of cases) {
    const c = makeCase(shape, shape[3], scale);
    for (const clampOn of [true, false]) {
      if (!clampOn && scale > 10) continue; // unclamped log of underflowing probabilities is −∞ by design
      const want = refLoss(c, clampOn);
      const wantGrad = refGrad(c, clampOn);
      const fused = await fusedRun(c, { clamp: clampOn });
      const composed = await fusedRun(c, { clamp: clampOn }, true);
      const what = `[${shape}] clamp=${clampOn}`;
      // f32 sums over a few thousand terms: rel 1e-5.
      assertClose([fused.loss, fused.dice, fused.ce], [want.loss, want.dice, want.ce], 1e-5, 1e-6, `${what} fused loss`);
      assertClose([composed.loss, composed.dice, composed.ce], [want.loss, want.dice, want.ce], 1e-5, 1e-6, `${what} composed loss`);
      // Gradients are O(1/(B·H·W)); atol scales with that.
      const scaleG = 1 / (shape[0] * shape[2] * shape[3]);
      assertClose(fused.grad, wantGrad, 1e-4, 1e-4 * scaleG, `${what} fused grad`);
      assertClose(fused.grad, composed.grad, 1e-4, 1e-4 * scaleG, `${what} fused vs composed grad`);
    }
  }
});

// Catches: the paper form computing the published Dice (per sample and class) or the mean CE, a
// per-sample instead of a global ratio (the [3, 3, 9, 13] case has unequal per-sample sums once
// clamped), a wrong gradient scale (−2 and −1 instead of the published 1/(B·C), 1/(B·H·W)), and the
// fused kernels reading per-(b, c) statistics in the paper form.
test("paper form (eq. 13–14): loss, terms and gradient against f64 and the composed ops", async () => {
  // The f64 analytic gradient is itself checked by central differences first.
  const small = makeCase([2, 3, 2, 3], 6);
  for (const clampOn of [false, true]) {
    const h = 1e-6;
    const fd = new Float64Array(small.x.length);
    for (let i = 0; i < small.x.length; i++) {
      const xp = Float64Array.from(small.x);
      const xm = Float64Array.from(small.x);
      xp[i] += h;
      xm[i] -= h;
      fd[i] = (refPaper({ ...small, x: xp }, clampOn).loss - refPaper({ ...small, x: xm }, clampOn).loss) / (2 * h);
    }
    assertClose(refGradPaper(small, clampOn), fd, 1e-5, 1e-8, `f64 paper gradient clamp=${clampOn}`);
  }
  const cases: [number[], number][] = [
    [[2, 4, 5, 7], 3],
    [[1, 2, 3, 1], 3],
    [[3, 3, 9, 13], 12],
    [[2, 4, 41, 61], 3], // more than one chunk per sample
  ];
  for (const [shape, scale] of cases) {
    const c = makeCase(shape, shape[3] + 1, scale);
    for (const clampOn of [false, true]) {
      const want = refPaper(c, clampOn);
      const wantGrad = refGradPaper(c, clampOn);
      const fused = await fusedRun(c, { form: 'paper', clamp: clampOn });
      const composed = await fusedRun(c, { form: 'paper', clamp: clampOn }, true);
      const what = `paper [${shape}] clamp=${clampOn}`;
      // CE is a sum of up to 20,000 terms of size ~1: f32 accumulation, rel 2e-5.
      assertClose([fused.loss, fused.dice, fused.ce], [want.loss, want.dice, want.ce], 2e-5, 1e-6, `${what} fused loss`);
      assertClose([composed.loss, composed.dice, composed.ce], [want.loss, want.dice, want.ce], 2e-5, 1e-6, `${what} composed loss`);
      // Per-logit gradients are O(1) here (a sum, not a mean).
      assertClose(fused.grad, wantGrad, 1e-4, 1e-5, `${what} fused grad`);
      assertClose(composed.grad, wantGrad, 1e-4, 1e-5, `${what} composed grad`);
    }
  }
  // Default clamp: off in the paper form (the paper states none), on in the published form.
  const c = makeCase([1, 3, 2, 2], 9, 12);
  assertClose([(await fusedRun(c, { form: 'paper' })).loss], [refPaper(c, false).loss], 2e-5, 1e-6, 'paper default clamp');
  assertClose([(await fusedRun(c, {})).loss], [refLoss(c, true).loss], 1e-5, 1e-6, 'published default clamp');
  assert.throws(() => E.softSegLoss(E.zeros([1, 2, 2, 2]), E.zeros([1, 2, 2, 2]), { form: 'other' as E.SoftLossForm }), /unknown form 'other'/);
});

test('softSegLoss: beyond the fused kernels (33 classes) the composed path gives the same loss', async () => {
  const c = makeCase([1, 33, 3, 2], 8);
  const want = refLoss(c);
  const got = await fusedRun(c, {});
  assertClose([got.loss, got.dice, got.ce], [want.loss, want.dice, want.ce], 1e-5, 1e-6, '33 classes');
  assertClose(got.grad, refGrad(c), 1e-4, 1e-6, '33 classes grad');
});

test('softSegLoss: a perfect confident prediction has CE ≈ 0 and Dice ≈ 0; bad shapes throw', async () => {
  const shape = [1, 2, 2, 2];
  const t = E.tensor([1, 0, 1, 0, 0, 1, 0, 1], shape);
  const x = E.tensor([30, -30, 30, -30, -30, 30, -30, 30], shape);
  const r = E.softSegLoss(x, t, { clamp: false });
  assertClose([await r.loss.item()], [0], 0, 1e-6, 'perfect');
  assert.throws(() => E.softSegLoss(x, E.zeros([1, 2, 2, 3])), /softSegLoss: logits and target/);
  for (const v of [t, x, r.loss, r.dice, r.ce]) v.dispose();
});

test.run();
