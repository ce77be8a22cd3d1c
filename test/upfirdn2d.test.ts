import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read } from './helpers.js';
import { refUpfirdn, type Pad4 } from './stylegan-reference.js';

/** A deliberately asymmetric 3×4 filter (so a wrong flip or transposition shows). */
const ASYM = [
  [0.1, -0.3, 0.5, 0.2],
  [0.7, 0.05, -0.2, 0.4],
  [-0.6, 0.3, 0.25, 0.9],
];

/** 9×8 = 72 taps: above the 64 that get a kernel with the filter size compiled in (the generic kernel runs). */
const WIDE = Array.from({ length: 9 }, (_, r) => Array.from({ length: 8 }, (_, c) => Math.sin(1 + 3 * r + c)));

const cases: { name: string; shape: number[]; f: number[][] | null; up: [number, number]; down: [number, number]; pad: Pad4; flip: boolean; gain: number }[] = [
  { name: 'up 2, 3×4 filter, asymmetric padding', shape: [2, 3, 5, 4], f: ASYM, up: [2, 2], down: [1, 1], pad: [2, 1, 1, 2], flip: false, gain: 4 },
  { name: 'down 2, flipFilter, negative padding (crop)', shape: [2, 3, 7, 6], f: ASYM, up: [1, 1], down: [2, 2], pad: [-1, 1, 2, -2], flip: true, gain: 1 },
  { name: 'up [2,1] down [1,3], mixed', shape: [1, 2, 6, 5], f: ASYM, up: [2, 1], down: [1, 3], pad: [1, 2, 3, 0], flip: false, gain: 0.5 },
  { name: 'up 2 and down 2 together', shape: [2, 1, 5, 5], f: ASYM, up: [2, 2], down: [2, 2], pad: [1, 2, 2, 1], flip: false, gain: 1.5 },
  { name: '9×8 filter (generic kernel), up 2, flipFilter', shape: [1, 2, 4, 5], f: WIDE, up: [2, 2], down: [1, 1], pad: [3, 4, 4, 4], flip: true, gain: 1 },
  { name: 'identity filter (null), pad only', shape: [2, 3, 3, 4], f: null, up: [1, 1], down: [1, 1], pad: [1, 0, -1, 2], flip: false, gain: 1 },
];

for (const cs of cases) {
  test(`upfirdn2d forward: ${cs.name}`, async () => {
    const { t: x, v } = randTensor(cs.shape, 3);
    const fArr = cs.f ?? [[1]];
    const f = cs.f ? E.tensor(cs.f.flat(), [cs.f.length, cs.f[0].length]) : null;
    const want = refUpfirdn(v, cs.shape, fArr, cs.up, cs.down, cs.pad, cs.flip, cs.gain);
    const y = E.upfirdn2d(x, f, { up: cs.up, down: cs.down, padding: cs.pad, flipFilter: cs.flip, gain: cs.gain });
    assert.equal([...y.shape], want.shape);
    // A handful of f32 products per output: rel 1e-5.
    assertClose(await read(y), want.out, 1e-5, 1e-6, cs.name);
    for (const t of [x, f, y]) t?.dispose();
  });
}

test('upfirdn2d gradient by finite differences (up 2 / down 2, crop, flip)', async () => {
  const f = E.tensor(ASYM.flat(), [3, 4]);
  for (const o of [
    { up: 2, down: 1, padding: [2, 1, 1, 2] as Pad4, flipFilter: false, gain: 4 },
    { up: 1, down: 2, padding: [-1, 1, 2, 0] as Pad4, flipFilter: true, gain: 1 },
  ]) {
    // Linear op: differences are exact up to f32 rounding.
    await gradCheck((x) => E.upfirdn2d(x, f, o), [{ shape: [2, 2, 5, 4] }], { what: `upfirdn2d ${JSON.stringify(o)}`, rtol: 1e-2, atol: 1e-2 });
  }
  f.dispose();
});

test('upfirdn2d second derivative: ∂/∂x of ‖∂L/∂x‖² with L = Σ tanh(down(x))·r matches differences', async () => {
  const f = E.setupFilter([1, 3, 3, 1]);
  const shape = [1, 2, 6, 5];
  const xv = Float64Array.from(Float32Array.from(randArray(60, 5)));
  const r = E.tensor(Float32Array.from(randArray(2 * 3 * 2, 6)), [1, 2, 3, 2]);
  const penalty = (v: Float64Array, createGraph: boolean) => {
    const x = E.tensor(Float32Array.from(v), shape);
    x.requiresGrad = true;
    const loss = E.sum(E.mul(E.tanh(E.downsample2d(x, f)), r));
    const [gx] = E.grad(loss, [x], { createGraph });
    return { x, p: E.sum(E.mul(gx!, gx!)) };
  };
  const { x, p } = penalty(xv, true);
  E.backward(p);
  const analytic = await read(x.grad!);
  const h = 1e-2;
  const numeric = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) {
    const at = async (d: number) => {
      const v = Float64Array.from(xv);
      v[i] += d;
      const t = E.tidy(() => penalty(v, false).p);
      const s = await t.item();
      t.dispose();
      return s;
    };
    numeric[i] = ((await at(h)) - (await at(-h))) / (2 * h);
  }
  // Central differences of an f32 penalty with h = 1e-2: abs 3e-3.
  assertClose(analytic, numeric, 2e-2, 3e-3, 'd‖∇‖²/dx');
  for (const t of [f, r, x, p, x.grad]) t?.dispose();
});

test('setupFilter: outer product, normalisation, flip and gain as published', async () => {
  const f = E.setupFilter([1, 3, 3, 1]);
  assert.equal([...f.shape], [4, 4]);
  const want = [1, 3, 3, 1].flatMap((a) => [1, 3, 3, 1].map((b) => (a * b) / 64));
  assertClose(await read(f), want, 1e-7, 0, 'blur taps');
  const g = E.setupFilter([[1, 2], [3, 4]], { flipFilter: true, gain: 3 });
  assertClose(await read(g), [4, 3, 2, 1].map((v) => (v / 10) * 3), 1e-6, 0, 'flipped 2-D with gain');
  const s = E.setupFilter([1, 2, 1], { separable: true, normalize: false, gain: 4 });
  assert.equal([...s.shape], [3]);
  assertClose(await read(s), [2, 4, 2], 1e-7, 0, 'separable taps scaled by √gain');
  assert.equal(E.filterSize(f), [4, 4]);
  assert.equal(E.filterSize(null), [1, 1]);
  for (const t of [f, g, s]) t.dispose();
});

test('separable 1-D taps filter exactly like their 2-D outer product', async () => {
  const { t: x } = randTensor([2, 2, 5, 6], 8);
  const f1 = E.setupFilter([1, 2, 5], { separable: true, gain: 2 });
  const f2 = E.setupFilter([1, 2, 5], { gain: 2 });
  const a = E.upfirdn2d(x, f1, { up: 2, padding: [1, 2, 2, 1] });
  const b = E.upfirdn2d(x, f2, { up: 2, padding: [1, 2, 2, 1] });
  assertClose(await read(a), await read(b), 1e-6, 1e-7, 'separable vs 2-D');
  for (const t of [x, f1, f2, a, b]) t.dispose();
});

test('upsample2d / downsample2d: published padding and gain, output size a multiple', async () => {
  const shape = [2, 3, 5, 3];
  const { t: x, v } = randTensor(shape, 4);
  const taps = [1, 3, 3, 1].flatMap((a) => [1, 3, 3, 1].map((b) => (a * b) / 64));
  const f2 = [0, 1, 2, 3].map((r) => taps.slice(r * 4, r * 4 + 4));
  const f = E.setupFilter([1, 3, 3, 1]);
  const up = E.upsample2d(x, f);
  assert.equal([...up.shape], [2, 3, 10, 6]);
  // Published: pad [(fw+up−1)//2, (fw−up)//2, …] = [2, 1, 2, 1], gain up² = 4.
  assertClose(await read(up), refUpfirdn(v, shape, f2, [2, 2], [1, 1], [2, 1, 2, 1], false, 4).out, 1e-5, 1e-6, 'upsample2d');
  const dn = E.downsample2d(x, f, { padding: [0, 1, 0, 1] });
  // Published: pad [(fw−down+1)//2, (fw−down)//2, …] = [1, 1, 1, 1], plus the user's [0, 1, 0, 1].
  assert.equal([...dn.shape], [2, 3, 3, 2]);
  assertClose(await read(dn), refUpfirdn(v, shape, f2, [1, 1], [2, 2], [1, 2, 1, 2], false, 1).out, 1e-5, 1e-6, 'downsample2d');
  const three = E.setupFilter([1, 2, 1]);
  const up3 = E.upsample2d(x, three, { up: 2, padding: 1, gain: 0.5 });
  assert.equal([...up3.shape], [2, 3, 12, 8]);
  for (const t of [x, f, up, dn, three, up3]) t.dispose();
});

test('upfirdn2d errors name the op and the shapes', () => {
  const x = E.zeros([1, 1, 2, 2]);
  const f = E.setupFilter([1, 3, 3, 1]);
  assert.throws(() => E.upfirdn2d(x, f), /upfirdn2d: .*output would be -1×-1.*\[1, 1, 2, 2\]/);
  assert.throws(() => E.upfirdn2d(E.zeros([2, 2]), f), /upfirdn2d: .*\[2, 2\]/);
  assert.throws(() => E.upfirdn2d(x, f, { up: 0 }), /upfirdn2d: up must be integers/);
  x.dispose();
  f.dispose();
});

test.run();
