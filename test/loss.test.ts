import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read } from './helpers.js';

test('oneHot inserts the class axis (axis 1 and last), out-of-range labels give zero rows', async () => {
  const labels = [0, 2, 1, 3, -1, 2]; // 3 and −1 are out of range for 3 classes
  const l = E.tensor(labels, [2, 3], 'i32');
  const y = E.oneHot(l, 3, 1);
  assert.equal([...y.shape], [2, 3, 3]);
  const want: number[] = [];
  for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) want.push(labels[b * 3 + k] === c ? 1 : 0);
  assert.equal([...(await y.data())], want);
  const last = E.oneHot(l, 3, -1);
  assert.equal([...last.shape], [2, 3, 3]);
  assert.equal([...(await last.data())], labels.flatMap((v) => [0, 1, 2].map((c) => (v === c ? 1 : 0))));
  assert.throws(() => E.oneHot(E.zeros([2]), 3), /oneHot: expected a i32 tensor/);
});

/** f64 reference: −Σ_c t·log_softmax(x) along `axis`, mean over the other positions. */
function refCrossEntropy(x: Float64Array, t: Float64Array, shape: number[], axis: number): number {
  const C = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.length / (C * inner);
  let total = 0;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const at = (c: number) => (o * C + c) * inner + k;
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, x[at(c)]);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x[at(c)] - m);
      const lse = m + Math.log(s);
      for (let c = 0; c < C; c++) total -= t[at(c)] * (x[at(c)] - lse);
    }
  }
  return total / (outer * inner);
}

/** Random probability vectors along `axis` (softmax of random scores, in f32). */
function randomTargets(shape: number[], axis: number, seed: number): Float64Array {
  const s = randArray(shape.reduce((a, b) => a * b, 1), seed, -2, 2);
  const C = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const t = new Float64Array(s.length);
  for (let o = 0; o < s.length / (C * inner); o++) {
    for (let k = 0; k < inner; k++) {
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(s[(o * C + c) * inner + k]);
      for (let c = 0; c < C; c++) t[(o * C + c) * inner + k] = Math.fround(Math.exp(s[(o * C + c) * inner + k]) / z);
    }
  }
  return t;
}

// NCHW class axis with awkward sizes, a size-1 spatial dim, the last axis, and > 128 classes (the
// composed path).
const cases: [number[], number][] = [
  [[3, 5, 7, 1], 1],
  [[2, 4, 9, 11], 1],
  [[6, 3], -1],
  [[2, 150], 1],
];

for (const [shape, axis] of cases) {
  test(`softCrossEntropy ${JSON.stringify(shape)} axis ${axis}: loss and gradients against f64`, async () => {
    const a = axis < 0 ? axis + shape.length : axis;
    const { t: x, v: xv } = randTensor(shape, 4, -3, 3);
    const tv = randomTargets(shape, a, 5);
    const t = E.tensor(Float32Array.from(tv), shape);
    x.requiresGrad = true;
    t.requiresGrad = true;
    const loss = E.softCrossEntropy(x, t, axis);
    assert.equal([...loss.shape], []);
    // f32 sums of O(1) terms over ≤ 400 rows: rel 1e-5.
    assertClose([await loss.item()], [refCrossEntropy(xv, tv, shape, a)], 1e-5, 1e-6, 'loss');
    E.backward(E.mul(loss, 2)); // an upstream gradient other than 1
    // Exact f64 gradients: 2·(softmax(x)·Σt − t)/rows and −2·log_softmax(x)/rows.
    const C = shape[a];
    const inner = shape.slice(a + 1).reduce((p, q) => p * q, 1);
    const rows = xv.length / C;
    const gx = new Float64Array(xv.length);
    const gt = new Float64Array(xv.length);
    for (let o = 0; o < xv.length / (C * inner); o++) {
      for (let k = 0; k < inner; k++) {
        const at = (c: number) => (o * C + c) * inner + k;
        let m = -Infinity;
        let tsum = 0;
        for (let c = 0; c < C; c++) {
          m = Math.max(m, xv[at(c)]);
          tsum += tv[at(c)];
        }
        let s = 0;
        for (let c = 0; c < C; c++) s += Math.exp(xv[at(c)] - m);
        for (let c = 0; c < C; c++) {
          const ls = xv[at(c)] - m - Math.log(s);
          gx[at(c)] = (2 * (Math.exp(ls) * tsum - tv[at(c)])) / rows;
          gt[at(c)] = (-2 * ls) / rows;
        }
      }
    }
    assertClose(await read(x.grad!), gx, 1e-4, 1e-7, 'd/dlogits');
    assertClose(await read(t.grad!), gt, 1e-4, 1e-7, 'd/dtarget');
  });
}

test('softCrossEntropy equals hard-label cross-entropy with one-hot targets', async () => {
  const labels = E.tensor([2, 0, 1, 1, 0, 2], [2, 1, 3], 'i32');
  const { t: x, v: xv } = randTensor([2, 3, 1, 3], 8, -2, 2);
  const loss = await E.softCrossEntropy(x, E.oneHot(labels, 3, 1), 1).item();
  const tv = new Float64Array(18);
  [2, 0, 1, 1, 0, 2].forEach((c, r) => (tv[Math.floor(r / 3) * 9 + c * 3 + (r % 3)] = 1));
  assertClose([loss], [refCrossEntropy(xv, tv, [2, 3, 1, 3], 1)], 1e-5, 1e-6, 'one-hot loss');
});

test('softCrossEntropy gradients by finite differences, and a second derivative via createGraph', async () => {
  const target = Float64Array.from(randomTargets([2, 3, 2], 1, 6));
  await gradCheck((x, t) => E.softCrossEntropy(x, t, 1), [{ shape: [2, 3, 2], lo: -2, hi: 2 }, { shape: [2, 3, 2], v: target }], {
    what: 'softCrossEntropy',
  });
  // Second derivative (createGraph, the composed backward): H·u = d/dx Σ u·∇L against
  // (∇L(x + εu) − ∇L(x − εu)) / 2ε.
  const shape = [2, 3, 2];
  const t = E.tensor(Float32Array.from(target), shape);
  const x0 = randArray(12, 11, -2, 2);
  const u = randArray(12, 12, -1, 1);
  const gradAt = (xv: ArrayLike<number>, createGraph: boolean) => {
    const x = E.tensor(Float32Array.from(xv), shape);
    x.requiresGrad = true;
    const [g] = E.grad(E.softCrossEntropy(x, t, 1), [x], { createGraph });
    return { x, g: g! };
  };
  const eps = 1e-2;
  const plus = await read(gradAt(x0.map((v, i) => v + eps * u[i]), false).g);
  const minus = await read(gradAt(x0.map((v, i) => v - eps * u[i]), false).g);
  const { x, g } = gradAt(x0, true);
  const [hu] = E.grad(E.sum(E.mul(g, E.tensor(Float32Array.from(u), shape))), [x]);
  // Central differences in f32, ε = 1e-2, gradients O(0.1): abs 2e-4.
  assertClose(await read(hu!), plus.map((p, i) => (p - minus[i]) / (2 * eps)), 1e-2, 2e-4, 'Hessian·u');
});

test('softCrossEntropy rejects mismatched shapes', () => {
  assert.throws(() => E.softCrossEntropy(E.zeros([2, 3]), E.zeros([2, 4])), /softCrossEntropy: logits and target must have the same shape.*\[2, 3\].*\[2, 4\]/);
});

test.run();
