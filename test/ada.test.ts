// ADA: the matrices and the whole augmentation against test/golden/ada_golden.json (written by
// test/golden/ada_golden.py from the published formulas in numpy/torch), the identity at p = 0, the
// exact blits, gradients to the input (first and second order), seeding, and the p controller.
import { readFileSync } from 'node:fs';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randTensor, read } from './helpers.js';

const golden = JSON.parse(readFileSync('test/golden/ada_golden.json', 'utf8'));
const identity = (): E.AugmentParams => ({ geometry: { ...E.IDENTITY_GEOMETRY, xint: [0, 0], xfrac: [0, 0] }, color: { ...E.IDENTITY_COLOR } });

test('G_inv matches the published composition for fixed parameters', () => {
  for (const c of golden.matrices) {
    // Pure f64 matrix products: 1e-12.
    assertClose(E.mat3Rows(E.geometricInverse(c.params, c.width, c.height)).flat(), c.gInv.flat(), 1e-12, 1e-12, JSON.stringify(c.params));
  }
});

test('colour matrices (RGB with hue/saturation, L without) match the published ones', () => {
  for (const c of golden.colors) {
    assertClose(E.mat4Rows(E.colorMatrix(c.params, 3)).flat(), c.rgb.flat(), 1e-12, 1e-12, 'rgb');
    assertClose(E.mat4Rows(E.colorMatrix(c.params, 1)).flat(), c.luma.flat(), 1e-12, 1e-12, 'luma');
  }
});

test('the whole pipeline (pad, upsample, grid sample, downsample, colour) matches the reference', async () => {
  const pipe = new E.AugmentPipe();
  for (const c of golden.pipelines) {
    const [n, , h, w] = c.shape;
    const plan = E.geometricPlan(c.geometry.map((g: E.GeometricParams) => E.geometricInverse(g, w, h)), w, h, 3);
    assert.equal(plan.pad, c.pad, 'reflect padding');
    assertClose(plan.theta.flatMap((t) => [...t]), c.theta, 1e-12, 1e-12, 'theta');
    const x = E.tensor(c.images, c.shape);
    const params = Array.from({ length: n }, (_, i) => ({ geometry: c.geometry[i], color: c.color[i] }));
    const y = pipe.apply(x, params);
    // f32 through two 12×12 filters and bilinear sampling of O(1) values: abs 5e-5.
    assertClose(await read(y), c.output, 1e-4, 5e-5, `pipeline ${c.shape}`);
    x.dispose();
    y.dispose();
  }
  pipe.dispose();
});

test('p = 0 is exactly the identity; p = 1 changes every image', async () => {
  const { t: x, v } = randTensor([3, 1, 12, 10], 1);
  const pipe = new E.AugmentPipe({ seed: 3, p: 0 });
  const same = pipe.forward(x);
  assert.equal(Array.from(await read(same)), Array.from(v));
  pipe.p = 1;
  const changed = await read(pipe.forward(x));
  for (let b = 0; b < 3; b++) {
    const diff = changed.slice(b * 120, (b + 1) * 120).reduce((s, a, i) => s + Math.abs(a - v[b * 120 + i]), 0);
    assert.ok(diff > 1e-3, `sample ${b} unchanged at p = 1`);
  }
  x.dispose();
  same.dispose();
  pipe.dispose();
});

test('integer translation, x-flip and rot90 reproduce the pixel blit (reflected borders)', async () => {
  const size = 9;
  const { t: x, v } = randTensor([3, 1, size, size], 2);
  const pipe = new E.AugmentPipe();
  const geoms: E.GeometricParams[] = [
    { ...E.IDENTITY_GEOMETRY, xint: [2 / size, -1 / size] },
    { ...E.IDENTITY_GEOMETRY, xflip: 1 },
    { ...E.IDENTITY_GEOMETRY, rotate90: 1, xflip: 1, xint: [-3 / size, 0] },
  ];
  const params = geoms.map((geometry) => ({ geometry, color: { ...E.IDENTITY_COLOR } }));
  const y = await read(pipe.apply(x, params));
  const c = (size - 1) / 2;
  const mirror = (i: number) => (i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i);
  const want: number[] = [];
  geoms.forEach((g, b) => {
    const G = E.mat3Rows(E.geometricInverse(g, size, size));
    for (let yy = 0; yy < size; yy++)
      for (let xx = 0; xx < size; xx++) {
        const sx = Math.round(G[0][0] * (xx - c) + G[0][1] * (yy - c) + G[0][2] + c);
        const sy = Math.round(G[1][0] * (xx - c) + G[1][1] * (yy - c) + G[1][2] + c);
        want.push(v[b * size * size + mirror(sy) * size + mirror(sx)]);
      }
  });
  // The orthogonal sym6 filter makes upsample → integer shift → downsample a pure copy up to f32
  // rounding of the taps: abs 2e-5.
  assertClose(y, want, 0, 2e-5, 'blit');
  x.dispose();
  pipe.dispose();
});

test('gradients reach the input through the augmentation (finite differences)', async () => {
  const pipe = new E.AugmentPipe();
  const params = [
    { geometry: golden.pipelines[0].geometry[0], color: golden.pipelines[0].color[0] },
    { geometry: golden.pipelines[0].geometry[1], color: golden.pipelines[0].color[1] },
  ];
  // Linear in the image: central differences are exact up to f32 rounding.
  await gradCheck((x) => pipe.apply(x, params), [{ shape: [2, 1, 6, 7] }], { rtol: 1e-2, atol: 3e-3, what: 'AugmentPipe' });
  pipe.dispose();
});

test('second derivative through the augmentation (R1 on un-augmented reals)', async () => {
  // aug(x) = A x + b for fixed parameters (b: the colour offset); L = Σ w·aug(x)²,
  // g = ∂L/∂x = Aᵀ(2w ⊙ aug(x)), and ∂(Σ g²)/∂x = 2 Aᵀ(2w ⊙ A g): the reference uses only the
  // forward (A g = aug(g) − aug(0)) and first-order gradients.
  const pipe = new E.AugmentPipe();
  const p = golden.pipelines[0];
  const params = [0, 1].map((i) => ({ geometry: p.geometry[i], color: p.color[i] }));
  const { t: x } = randTensor([2, 1, 7, 6], 4);
  x.requiresGrad = true;
  const { t: w } = randTensor([2, 1, 7, 6], 5);
  const L = E.sum(E.mul(E.mul(pipe.apply(x, params), pipe.apply(x, params)), w));
  const [g] = E.grad(L, [x], { createGraph: true });
  const [d2] = E.grad(E.sum(E.mul(g!, g!)), [x]);
  const adjoint = (v: E.Tensor) => {
    const probe = E.detach(x);
    probe.requiresGrad = true;
    const [r] = E.grad(pipe.apply(probe, params), [probe], { grad: v });
    probe.dispose();
    return r!;
  };
  const gDetached = E.detach(g!);
  const Ag = E.noGrad(() => E.sub(pipe.apply(gDetached, params), pipe.apply(E.zeros([2, 1, 7, 6]), params)));
  const ref = adjoint(E.mul(Ag, E.mul(w, 4)));
  // Two f32 passes of the pipeline and its adjoint: rel 1e-3.
  assertClose(await read(d2!), await read(ref), 1e-3, 1e-4, 'second derivative');
  pipe.dispose();
});

test('parameters are reproducible by seed and resume from state()', () => {
  const a = new E.AugmentPipe({ seed: 11, p: 0.7 });
  const b = new E.AugmentPipe({ seed: 11, p: 0.7 });
  assert.equal(a.sampleParams(4, 1), b.sampleParams(4, 1));
  const saved = a.state();
  const next = a.sampleParams(3, 3);
  const c = new E.AugmentPipe();
  c.loadState(saved);
  assert.equal(c.sampleParams(3, 3), next);
  assert.is(c.p, 0.7);
  // Hue and saturation stay at identity for 1-channel images.
  for (const s of a.sampleParams(16, 1)) assert.ok(s.color.hue === 0 && s.color.saturation === 1);
  // p = 0: every sample is the identity.
  assert.equal(new E.AugmentPipe({ p: 0 }).sampleParams(5, 3), Array.from({ length: 5 }, identity));
});

test('AdaController: p moves by sign(r_t − 0.6)·batch·interval/(kimg·1000) every interval batches', async () => {
  const o = { target: 0.6, interval: 4, kimg: 500, batchSize: 8 };
  assert.is(E.adaAdjust(0.1, 0.9, o), 0.1 + (8 * 4) / 500000);
  assert.is(E.adaAdjust(0.1, 0.2, o), 0.1 - (8 * 4) / 500000);
  assert.is(E.adaAdjust(0, 0.2, o), 0, 'clamped at 0');

  const pipe = new E.AugmentPipe();
  const ada = new E.AdaController(pipe, { batchSize: 8 });
  // 3 of 4 logits positive per batch: r_t = 0.5 < 0.6 → p would fall, stays at 0.
  const mixed = E.tensor([2, -1, 0.5, 3], [4, 1]);
  const positive = E.tensor([1, 2, 3, 4], [4, 1]);
  for (let i = 0; i < 4; i++) {
    ada.observe(mixed);
    await ada.step();
  }
  assert.is(pipe.p, 0);
  for (let i = 0; i < 3; i++) {
    ada.observe(positive);
    assert.is(await ada.step(), 0, 'no change before the interval ends');
  }
  ada.observe(positive);
  assert.is(await ada.rt(), 1);
  const step = (8 * 4) / 500000;
  assert.is(await ada.step(), step);
  // State round trip, mid-interval.
  ada.observe(mixed);
  await ada.step();
  const state = await ada.state();
  assert.equal(state, { p: step, batches: 9, signSum: 2, signCount: 4 });
  const resumed = new E.AdaController(new E.AugmentPipe(), { batchSize: 8 });
  resumed.loadState(state);
  assert.is(resumed.p, step);
  mixed.dispose();
  positive.dispose();
  ada.dispose();
  pipe.dispose();
});

test.run();
