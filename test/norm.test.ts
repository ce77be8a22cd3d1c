import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read } from './helpers.js';

/** f64 per-channel mean and biased variance of an NCHW array. */
function channelStats(v: Float64Array, [N, C, H, W]: number[]) {
  const n = N * H * W;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const each = (c: number, f: (i: number) => void) => {
    for (let b = 0; b < N; b++) for (let k = 0; k < H * W; k++) f((b * C + c) * H * W + k);
  };
  for (let c = 0; c < C; c++) {
    each(c, (i) => (mean[c] += v[i] / n));
    each(c, (i) => (variance[c] += (v[i] - mean[c]) ** 2 / n));
  }
  return { mean, variance, n, each };
}

const f32 = (n: number, seed: number, lo: number, hi: number) => Float64Array.from(Float32Array.from(randArray(n, seed, lo, hi)));

// [2, 3, 100, 90]: N·H·W = 18,000 > 16,384 takes two chunks per channel (the two-pass path), and a
// mean of ~6 against a spread of ~1 checks the variance is not lost to cancellation.
for (const shape of [
  [2, 3, 100, 90],
  [3, 5, 1, 7],
]) {
  test(`batchNorm2d training ${JSON.stringify(shape)}: output, running stats, gradients against f64`, async () => {
    const C = shape[1];
    const { t: x, v: xv } = randTensor(shape, 1, 5, 7);
    const wv = f32(C, 2, 0.5, 1.5);
    const bv = f32(C, 3, -0.5, 0.5);
    const rmv = f32(C, 4, -1, 1);
    const rvv = f32(C, 5, 0.5, 2);
    const w = E.tensor(Float32Array.from(wv), [C]);
    const b = E.tensor(Float32Array.from(bv), [C]);
    const rm = E.tensor(Float32Array.from(rmv), [C]);
    const rv = E.tensor(Float32Array.from(rvv), [C]);
    for (const t of [x, w, b]) t.requiresGrad = true;
    const y = E.batchNorm2d(x, w, b, rm, rv, { training: true, momentum: 0.3, eps: 1e-3 });
    const { mean, variance, n, each } = channelStats(xv, shape);
    const want = new Float64Array(xv.length);
    const invstd = variance.map((v) => 1 / Math.sqrt(v + 1e-3));
    for (let c = 0; c < C; c++) each(c, (i) => (want[i] = (xv[i] - mean[c]) * invstd[c] * wv[c] + bv[c]));
    // Inputs near 6 with spread 1: f32 rounding of x − mean ~5e-7 relative to the output's O(1).
    assertClose(await read(y), want, 1e-4, 2e-5, 'output');
    assertClose(await read(rm), Array.from(rmv, (r, c) => 0.7 * r + 0.3 * mean[c]), 1e-5, 1e-6, 'running mean');
    assertClose(await read(rv), Array.from(rvv, (r, c) => 0.7 * r + 0.3 * variance[c] * (n / (n - 1))), 1e-4, 1e-6, 'running var (unbiased)');

    // Gradients for an upstream g: exact f64 formulas.
    const gv = f32(xv.length, 6, -1, 1);
    E.backward(y, { grad: E.tensor(Float32Array.from(gv), shape) });
    const dx = new Float64Array(xv.length);
    const dw = new Float64Array(C);
    const db = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      each(c, (i) => {
        db[c] += gv[i];
        dw[c] += gv[i] * (xv[i] - mean[c]) * invstd[c];
      });
      each(c, (i) => {
        const xhat = (xv[i] - mean[c]) * invstd[c];
        dx[i] = ((wv[c] * invstd[c]) / n) * (n * gv[i] - db[c] - xhat * dw[c]);
      });
    }
    // Sums of up to 18,000 f32 terms: abs 2e-3 on sums of O(100); dx: abs 2e-5 (terms cancel).
    assertClose(await read(b.grad!), db, 1e-4, 2e-3, 'dbias');
    assertClose(await read(w.grad!), dw, 1e-4, 2e-3, 'dweight');
    assertClose(await read(x.grad!), dx, 1e-3, 2e-5, 'dx');
  });
}

test('batchNorm2d eval uses the running statistics and leaves them unchanged; gradients', async () => {
  const shape = [2, 3, 4, 5];
  const { t: x, v: xv } = randTensor(shape, 7);
  const rmv = [0.1, -0.2, 0.3];
  const rvv = [0.5, 1.5, 2.5];
  const rm = E.tensor(rmv, [3]);
  const rv = E.tensor(rvv, [3]);
  const w = E.tensor([1.5, 0.5, -1], [3]);
  const y = E.batchNorm2d(x, w, null, rm, rv, { training: false });
  const want = Array.from(xv, (v, i) => {
    const c = Math.floor(i / 20) % 3;
    return ((v - rmv[c]) / Math.sqrt(rvv[c] + 1e-5)) * [1.5, 0.5, -1][c];
  });
  assertClose(await read(y), want, 1e-5, 1e-6, 'eval output');
  assertClose(await read(rm), Float32Array.from(rmv), 0, 0, 'running mean untouched');
  assertClose(await read(rv), Float32Array.from(rvv), 0, 0, 'running var untouched');
  await gradCheck((a, g, bb) => E.batchNorm2d(a, g, bb, rm, rv, { training: false }), [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3] }], {
    what: 'batchNorm2d eval',
  });
});

test('batchNorm2d training gradients by finite differences (with and without affine)', async () => {
  const rm = E.zeros([3]);
  const rv = E.full([3], 1);
  const bn = (a: E.Tensor, g: E.Tensor, bb: E.Tensor) => E.batchNorm2d(a, g, bb, rm, rv, { training: true });
  await gradCheck(bn, [{ shape: [2, 3, 2, 3] }, { shape: [3], lo: 0.5, hi: 1.5 }, { shape: [3] }], { what: 'batchNorm2d training' });
  await gradCheck((a) => E.batchNorm2d(a, null, null, rm, rv, { training: true }), [{ shape: [3, 3, 1, 2] }], { what: 'batchNorm2d no affine' });
});

test('batchNorm2d errors name the op and shapes', () => {
  const rm = E.zeros([3]);
  assert.throws(() => E.batchNorm2d(E.zeros([2, 3, 4]), null, null, rm, rm, { training: true }), /batchNorm2d: expects an NCHW tensor/);
  assert.throws(() => E.batchNorm2d(E.zeros([2, 4, 1, 1]), null, null, rm, rm, { training: true }), /batchNorm2d: runningMean must have shape \[4\]/);
  assert.throws(() => E.batchNorm2d(E.zeros([1, 3, 1, 1]), null, null, rm, rm, { training: true }), /more than one value per channel/);
});

test('layerNorm forward against f64 (rows of 37 and 300), with and without affine', async () => {
  for (const shape of [
    [3, 5, 37],
    [2, 300],
  ]) {
    const D = shape[shape.length - 1];
    const { t: x, v: xv } = randTensor(shape, 9, 2, 4);
    const wv = f32(D, 10, 0.5, 1.5);
    const bv = f32(D, 11, -1, 1);
    const y = E.layerNorm(x, E.tensor(Float32Array.from(wv), [D]), E.tensor(Float32Array.from(bv), [D]), 1e-5);
    const plain = E.layerNorm(x, null, null);
    const want = new Float64Array(xv.length);
    const wantPlain = new Float64Array(xv.length);
    for (let r = 0; r < xv.length / D; r++) {
      const row = xv.subarray(r * D, (r + 1) * D);
      const m = row.reduce((a, v) => a + v, 0) / D;
      const rstd = 1 / Math.sqrt(row.reduce((a, v) => a + (v - m) ** 2, 0) / D + 1e-5);
      row.forEach((v, k) => {
        wantPlain[r * D + k] = (v - m) * rstd;
        want[r * D + k] = (v - m) * rstd * wv[k] + bv[k];
      });
    }
    assertClose(await read(y), want, 1e-4, 2e-5, `layerNorm ${JSON.stringify(shape)}`);
    assertClose(await read(plain), wantPlain, 1e-4, 2e-5, `layerNorm without affine ${JSON.stringify(shape)}`);
  }
});

test('layerNorm gradients by finite differences (x, weight, bias; and x alone)', async () => {
  await gradCheck((x, w, b) => E.layerNorm(x, w, b), [{ shape: [2, 3, 5] }, { shape: [5], lo: 0.5, hi: 1.5 }, { shape: [5] }], { what: 'layerNorm' });
  await gradCheck((x) => E.layerNorm(x, null, null), [{ shape: [4, 6] }], { what: 'layerNorm no affine' });
});

test('batch and layer norm refuse createGraph instead of returning a wrong second derivative', () => {
  const x = E.tensor(Array.from(randArray(8, 3)), [2, 4]);
  x.requiresGrad = true;
  assert.throws(() => E.grad(E.sum(E.mul(E.layerNorm(x, null, null), x)), [x], { createGraph: true }), /layerNorm: second derivatives are not supported/);
});

test.run();
