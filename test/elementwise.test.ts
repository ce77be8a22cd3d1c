import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randTensor, read } from './helpers.js';

const erf = (x: number) => {
  // Abramowitz–Stegun 7.1.26 is too coarse for a reference; integrate with Simpson's rule in f64.
  const n = 2000;
  const h = x / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const t = i * h;
    const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    s += w * Math.exp(-t * t);
  }
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
};

const unary: [string, (t: E.Tensor) => E.Tensor, (x: number) => number, number, number][] = [
  ['neg', E.neg, (x) => -x, -3, 3],
  ['exp', E.exp, Math.exp, -3, 3],
  ['log', E.log, Math.log, 0.1, 5],
  ['sqrt', E.sqrt, Math.sqrt, 0.1, 5],
  ['rsqrt', E.rsqrt, (x) => 1 / Math.sqrt(x), 0.1, 5],
  ['abs', E.abs, Math.abs, -3, 3],
  ['relu', E.relu, (x) => Math.max(0, x), -3, 3],
  ['leakyRelu', (t) => E.leakyRelu(t, 0.01), (x) => (x > 0 ? x : 0.01 * x), -3, 3],
  ['gelu', E.gelu, (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)), -4, 4],
  ['sigmoid', E.sigmoid, (x) => 1 / (1 + Math.exp(-x)), -8, 8],
  ['softplus', E.softplus, (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), -30, 30],
  ['tanh', E.tanh, Math.tanh, -4, 4],
  ['clamp', (t) => E.clamp(t, -0.5, 0.7), (x) => Math.min(0.7, Math.max(-0.5, x)), -2, 2],
  ['pow3', (t) => E.pow(t, 3), (x) => x ** 3, -2, 2],
  ['pow2.5', (t) => E.pow(t, 2.5), (x) => x ** 2.5, 0.1, 2],
];

for (const [name, op, ref, lo, hi] of unary) {
  test(`${name} forward at an awkward size (1037 elements, 3 dims)`, async () => {
    const { t, v } = randTensor([1, 17, 61], 3, lo, hi);
    const y = op(t);
    assert.equal([...y.shape], [1, 17, 61]);
    // f32 transcendental functions: rel 1e-5; erf fit: abs 2e-6.
    assertClose(await read(y), Array.from(v, ref), 2e-5, 2e-6, name);
    t.dispose();
    y.dispose();
  });
  test(`${name} gradient by finite differences`, async () => {
    // Keep finite differences away from kinks (relu/abs/clamp at 0, −0.5, 0.7).
    const shape = [3, 5];
    const r = randTensor(shape, 7, lo, hi).v.map((x) => (Math.abs(x) < 0.05 || Math.abs(x + 0.5) < 0.05 || Math.abs(x - 0.7) < 0.05 ? x + 0.13 : x));
    await gradCheck(op, [{ shape, v: r }], { what: name });
  });
}

const binary: [string, (a: E.Tensor, b: E.Tensor) => E.Tensor, (a: number, b: number) => number][] = [
  ['add', E.add, (a, b) => a + b],
  ['sub', E.sub, (a, b) => a - b],
  ['mul', E.mul, (a, b) => a * b],
  ['div', E.div, (a, b) => a / b],
  ['maximum', E.maximum, Math.max],
  ['minimum', E.minimum, Math.min],
];

for (const [name, op, ref] of binary) {
  test(`${name} with broadcasting [5,1,7] ⊕ [3,1]`, async () => {
    const a = randTensor([5, 1, 7], 1, 0.5, 2);
    const b = randTensor([3, 1], 2, 0.5, 2);
    const y = op(a.t, b.t);
    assert.equal([...y.shape], [5, 3, 7]);
    const want: number[] = [];
    for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 7; k++) want.push(ref(a.v[i * 7 + k], b.v[j]));
    assertClose(await read(y), want, 1e-6, 1e-6, name);
  });
  test(`${name} gradient through broadcasting`, async () => {
    // Values on two interleaved grids so that no pair is within the finite-difference step of a tie.
    const av = Float64Array.from([0.5, 0.9, 1.3, 1.7, 2.1, 0.7]);
    const bv = Float64Array.from([0.6, 1.0, 1.4, 1.8]);
    await gradCheck(op, [{ shape: [2, 1, 3], v: av }, { shape: [4, 1], v: bv }], { what: name });
  });
}

test('coalesceDims merges what every operand walks contiguously and drops size-1 dims', () => {
  // [16,64,32,32] × [16,64,1,1]: two dims, the second broadcast.
  assert.equal(E.coalesceDims([16, 64, 32, 32], [[65536, 1024, 32, 1], [64, 1, 0, 0]]), { shape: [1024, 1024], strides: [[1024, 1], [1, 0]] });
  // [2,3,4] + [2,1,4]: the middle dim stays (broadcast between two real strides).
  assert.equal(E.coalesceDims([2, 3, 4], [[12, 4, 1], [4, 0, 1]]), { shape: [2, 3, 4], strides: [[12, 4, 1], [4, 0, 1]] });
  assert.equal(E.coalesceDims([1, 1], [[1, 1]]), { shape: [1], strides: [[0]] });
});

test('broadcasts that coalesce to every rank from 1 to 4 match a direct reference', async () => {
  const cases: [number[], number[]][] = [
    [[3, 5], [1, 1]], // scalar-like → rank 1
    [[4, 3, 6, 5], [4, 3, 1, 1]], // per-channel scale → rank 2
    [[4, 3, 6, 5], [4, 1, 6, 5]], // per-pixel noise → rank 3
    [[2, 3, 4, 5], [2, 1, 4, 1]], // alternating → rank 4
  ];
  for (const [sa, sb] of cases) {
    const a = randTensor(sa, 7, -1, 1);
    const b = randTensor(sb, 8, -1, 1);
    const want: number[] = [];
    const [d0, d1, d2, d3] = [...Array(4 - sa.length).fill(1), ...sa];
    const bs = [...Array(4 - sb.length).fill(1), ...sb];
    for (let i = 0; i < d0; i++) for (let j = 0; j < d1; j++) for (let k = 0; k < d2; k++) for (let l = 0; l < d3; l++) {
      const bi = (((bs[0] > 1 ? i : 0) * bs[1] + (bs[1] > 1 ? j : 0)) * bs[2] + (bs[2] > 1 ? k : 0)) * bs[3] + (bs[3] > 1 ? l : 0);
      want.push(a.v[((i * d1 + j) * d2 + k) * d3 + l] * b.v[bi]);
    }
    assertClose(await read(E.mul(a.t, b.t)), want, 1e-6, 1e-6, `[${sa}] × [${sb}]`);
  }
});

test('pow with a tensor exponent: forward and gradient', async () => {
  await gradCheck(E.pow, [{ shape: [2, 3], lo: 0.5, hi: 2 }, { shape: [3], lo: -1, hi: 2 }], { what: 'pow' });
});

test('where broadcasts the condition and routes gradients', async () => {
  const c = E.tensor([1, 0, 1], [3]);
  const a = randTensor([2, 3], 1);
  const b = randTensor([2, 3], 2);
  const y = E.where(c, a.t, b.t);
  const want = Array.from({ length: 6 }, (_, i) => (i % 3 === 1 ? b.v[i] : a.v[i]));
  assertClose(await read(y), want, 0, 0, 'where');
  await gradCheck((x, z) => E.where(c, x, z), [{ shape: [2, 3] }, { shape: [2, 3] }], { what: 'where' });
});

test('full, cast and a large grid folded into y (70,000 workgroups)', async () => {
  const n = 256 * 70000;
  const f = E.full([n], 2.5);
  const s = E.sum(f);
  assertClose([await s.item()], [2.5 * n], 1e-5, 0, 'sum of full');
  const i = E.cast(E.tensor([1.7, -2.2, 3.9], [3]), 'i32');
  assert.equal([...(await i.data())], [1, -2, 3]);
});

test('shape mismatch names the op and the shapes', () => {
  const a = E.zeros([2, 3]);
  const b = E.zeros([4, 3]);
  assert.throws(() => E.add(a, b), /add: shapes do not broadcast.*\[2, 3\].*\[4, 3\]/);
});

test('a disposed tensor cannot be used', () => {
  const a = E.zeros([2, 3]);
  a.dispose();
  assert.throws(() => E.exp(a), /exp: tensor .* shape \[2, 3\] was used after dispose/);
});

test.run();
