import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read } from './helpers.js';

type P2 = [number, number];

interface Pooled {
  y: Float64Array;
  argmax: Int32Array;
  shape: number[];
}

/** float64 reference of PyTorch's max_pool2d / avg_pool2d (floor mode), written from their definitions. */
function refPool(x: ArrayLike<number>, shape: number[], k: P2, s: P2, p: P2, kind: 'max' | 'avg', countIncludePad = true): Pooled {
  const [H, W] = shape.slice(-2);
  const planes = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const y = new Float64Array(planes * OH * OW);
  const argmax = new Int32Array(y.length);
  for (let pl = 0; pl < planes; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const o = (pl * OH + oh) * OW + ow;
        let best = -Infinity;
        let bestAt = -1;
        let sum = 0;
        let inside = 0;
        for (let dh = 0; dh < k[0]; dh++) {
          for (let dw = 0; dw < k[1]; dw++) {
            const h = oh * s[0] - p[0] + dh;
            const w = ow * s[1] - p[1] + dw;
            if (h < 0 || h >= H || w < 0 || w >= W) continue; // padding: −∞ for max, 0 for avg
            const v = x[(pl * H + h) * W + w];
            if (v > best || bestAt < 0) [best, bestAt] = [v, h * W + w];
            sum += v;
            inside++;
          }
        }
        y[o] = kind === 'max' ? best : sum / (countIncludePad ? k[0] * k[1] : inside);
        argmax[o] = bestAt;
      }
    }
  }
  return { y, argmax, shape: [...shape.slice(0, -2), OH, OW] };
}

/** Distinct values on a 0.05 grid, shuffled: no two within a finite-difference step of a tie. */
function distinctValues(n: number, seed: number): Float64Array {
  const r = randArray(n, seed);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => r[a] - r[b]);
  const v = new Float64Array(n);
  order.forEach((at, rank) => (v[at] = -1 + 0.05 * rank));
  return v;
}

const cases: { shape: number[]; k: P2; s: P2; p: P2; what: string }[] = [
  { shape: [2, 3, 7, 9], k: [3, 3], s: [2, 2], p: [1, 1], what: 'kernel 3 stride 2 padding 1' },
  { shape: [1, 2, 6, 5], k: [2, 3], s: [1, 2], p: [1, 0], what: 'rectangular kernel, uneven stride and padding' },
  { shape: [3, 5, 4], k: [2, 2], s: [2, 2], p: [0, 0], what: 'rank-3 input, stride = kernel' },
  { shape: [2, 1, 1, 5], k: [1, 2], s: [1, 1], p: [0, 1], what: 'height 1' },
];

for (const c of cases) {
  test(`maxPool2d forward and argmax gradient: ${c.what} ${JSON.stringify(c.shape)}`, async () => {
    const { t, v } = randTensor(c.shape, 3);
    t.requiresGrad = true;
    const y = E.maxPool2d(t, c.k, c.s, c.p);
    const ref = refPool(v, c.shape, c.k, c.s, c.p, 'max');
    assert.equal([...y.shape], ref.shape);
    assertClose(await read(y), ref.y, 0, 0, 'maxPool2d'); // a selection: exact
    const wv = randArray(ref.y.length, 5);
    E.backward(y, { grad: E.tensor(Float32Array.from(wv), ref.shape) });
    const want = new Float64Array(v.length);
    const planeIn = c.shape.at(-1)! * c.shape.at(-2)!;
    const planeOut = ref.shape.at(-1)! * ref.shape.at(-2)!;
    ref.argmax.forEach((a, o) => (want[Math.floor(o / planeOut) * planeIn + a] += Math.fround(wv[o])));
    assertClose(await read(t.grad!), want, 1e-6, 1e-6, 'maxPool2d grad'); // f32 sums of ≤ 4 terms
  });

  for (const countIncludePad of [true, false]) {
    test(`avgPool2d forward (countIncludePad=${countIncludePad}): ${c.what}`, async () => {
      const { t, v } = randTensor(c.shape, 4);
      const y = E.avgPool2d(t, c.k, c.s, c.p, countIncludePad);
      const ref = refPool(v, c.shape, c.k, c.s, c.p, 'avg', countIncludePad);
      assert.equal([...y.shape], ref.shape);
      assertClose(await read(y), ref.y, 1e-5, 1e-6, 'avgPool2d'); // f32 sums of ≤ 9 terms
    });
  }
}

test('maxPool2d keeps the first index among ties, as PyTorch does', async () => {
  const x = E.tensor(new Float32Array(2 * 5 * 5).fill(0.25), [1, 2, 5, 5]);
  x.requiresGrad = true;
  const y = E.maxPool2d(x, 3, 2, 1);
  E.backward(E.sum(y));
  const ref = refPool(new Float64Array(50).fill(0.25), [1, 2, 5, 5], [3, 3], [2, 2], [1, 1], 'max');
  const want = new Float64Array(50);
  ref.argmax.forEach((a, o) => (want[Math.floor(o / 9) * 25 + a] += 1));
  assertClose(await read(x.grad!), want, 0, 0, 'tie-breaking'); // integer counts: exact
});

test('maxPool2d propagates NaN like PyTorch', async () => {
  const x = E.tensor([1, NaN, 3, 2], [1, 1, 2, 2]);
  const y = await read(E.maxPool2d(x, 2));
  assert.ok(Number.isNaN(y[0]), `want NaN, got ${y[0]}`);
});

test('maxPool2d gradient by finite differences (distinct values)', async () => {
  const shape = [2, 1, 5, 6];
  const v = distinctValues(60, 11);
  await gradCheck((x) => E.maxPool2d(x, 3, 2, 1), [{ shape, v }], { what: 'maxPool2d' });
});

test('avgPool2d gradient by finite differences, both padding counts', async () => {
  for (const countIncludePad of [true, false]) {
    await gradCheck((x) => E.avgPool2d(x, [3, 2], [2, 1], [1, 1], countIncludePad), [{ shape: [1, 2, 5, 4] }], {
      what: `avgPool2d countIncludePad=${countIncludePad}`,
    });
  }
});

/**
 * Second derivatives: with L1 = Σ pool(x)·w, dx = ∂L1/∂x is linear in w; for L2 = Σ dx·u the
 * gradient ∂L2/∂w must be the pool's forward map applied to u (with max pooling's argmax frozen).
 */
async function secondOrder(pool: (x: E.Tensor) => E.Tensor, expect: (u: Float64Array) => Float64Array, shape: number[]): Promise<void> {
  const { t: x } = randTensor(shape, 21);
  x.requiresGrad = true;
  const outShape = [...pool(x).shape];
  const { t: w } = randTensor(outShape, 22);
  w.requiresGrad = true;
  const { t: u, v: uv } = randTensor(shape, 23);
  const [dx] = E.grad(E.sum(E.mul(pool(x), w)), [x], { createGraph: true });
  const [dw] = E.grad(E.sum(E.mul(dx!, u)), [w]);
  assertClose(await read(dw!), expect(uv), 1e-5, 1e-6, 'second derivative'); // f32 sums of ≤ 9 terms
}

test('maxPool2d backward is differentiable: its gradient gathers at the argmax', async () => {
  const shape = [2, 2, 7, 9];
  const xv = randTensor(shape, 21).v;
  const ref = refPool(xv, shape, [3, 3], [2, 2], [1, 1], 'max');
  const plane = 63;
  const planeOut = ref.shape[2] * ref.shape[3];
  await secondOrder((x) => E.maxPool2d(x, 3, 2, 1), (u) => Float64Array.from(ref.argmax, (a, o) => u[Math.floor(o / planeOut) * plane + a]), shape);
});

test('avgPool2d backward is differentiable: its gradient is the pooling itself', async () => {
  const shape = [1, 3, 7, 9];
  await secondOrder((x) => E.avgPool2d(x, 3, 2, 1, false), (u) => refPool(u, shape, [3, 3], [2, 2], [1, 1], 'avg', false).y, shape);
});

test('windows of 1,200 elements (smaller workgroups): forward and adjoint of both poolings', async () => {
  const shape = [2, 3, 30, 41];
  const { t, v } = randTensor(shape, 8);
  t.requiresGrad = true;
  // Stride 1 makes every input sit in many windows: the adjoint loops ~1,200 times per element too.
  const avg = E.avgPool2d(t, [30, 40], 1);
  const max = E.maxPool2d(t, [30, 40], 1);
  const refAvg = refPool(v, shape, [30, 40], [1, 1], [0, 0], 'avg');
  const refMax = refPool(v, shape, [30, 40], [1, 1], [0, 0], 'max');
  assertClose(await read(avg), refAvg.y, 1e-5, 1e-6, 'avgPool2d'); // f32 sum of 1,200 terms
  assertClose(await read(max), refMax.y, 0, 0, 'maxPool2d');
  E.backward(E.add(E.sum(avg), E.sum(max)));
  const want = new Float64Array(v.length).fill(0);
  for (let i = 0; i < want.length; i++) {
    const w = i % 41;
    want[i] = (w === 0 || w === 40 ? 1 : 2) / 1200; // covered by one window or by both
  }
  refMax.argmax.forEach((a, o) => (want[Math.floor(o / 2) * 1230 + a] += 1));
  assertClose(await read(t.grad!), want, 1e-5, 1e-6, 'gradient'); // f32 sums of ≤ 2 terms
});

test('pooling errors name the op and the shapes', () => {
  const x = E.zeros([1, 2, 4, 4]);
  assert.throws(() => E.maxPool2d(E.zeros([4, 4]), 2), /maxPool2d: .*rank 2.*\[4, 4\]/);
  assert.throws(() => E.maxPool2d(x, 3, 1, 2), /maxPool2d: padding \(2, 2\) must be at most half the kernel.*\[1, 2, 4, 4\]/);
  assert.throws(() => E.avgPool2d(x, [5, 2]), /avgPool2d: kernel \(5, 2\).*does not fit.*\[1, 2, 4, 4\]/);
  assert.throws(() => E.avgPool2d(x, 0), /avgPool2d: kernel must be an integer ≥ 1/);
  assert.throws(() => E.maxPool2d(E.zeros([1, 1, 4, 4], 'i32'), 2), /maxPool2d: expects an f32 tensor, got i32.*\[1, 1, 4, 4\]/);
  // 40,000 iterations per output exceed the loop budget (llvmpipe silently cuts loops at ~65,535).
  assert.throws(() => E.avgPool2d(E.zeros([1, 1, 200, 200]), 200), /avgPool2d: each output element would loop 40000 times.*\[1, 1, 200, 200\]/);
});

test.run();
