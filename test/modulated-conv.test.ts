import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read } from './helpers.js';
import { flipKernel, refConv, refUpfirdn, type Pad4 } from './stylegan-reference.js';

const BLUR4 = [1, 3, 3, 1];
const outer = (t: number[]) => {
  const s = t.reduce((a, b) => a + b, 0) ** 2;
  return t.map((a) => t.map((b) => (a * b) / s));
};

/**
 * f64 conv2d_resample by the published generic route: zero-insert + pad + FIR (gain up²), a plain
 * correlation, then FIR + downsample. Independent of the fast paths the engine takes.
 */
function refConv2dResample(
  x: Float64Array, xs: number[], w: Float64Array, ws: number[], f: number[][] | null,
  o: { up?: number; down?: number; padding?: Pad4; groups?: number; flipWeight?: boolean; flipFilter?: boolean },
) {
  const up = o.up ?? 1;
  const down = o.down ?? 1;
  const ff = f ?? [[1]];
  const [fh, fw] = [ff.length, ff[0].length];
  let [px0, px1, py0, py1] = o.padding ?? [0, 0, 0, 0];
  if (up > 1) {
    px0 += Math.floor((fw + up - 1) / 2);
    px1 += Math.floor((fw - up) / 2);
    py0 += Math.floor((fh + up - 1) / 2);
    py1 += Math.floor((fh - up) / 2);
  }
  if (down > 1) {
    px0 += Math.floor((fw - down + 1) / 2);
    px1 += Math.floor((fw - down) / 2);
    py0 += Math.floor((fh - down + 1) / 2);
    py1 += Math.floor((fh - down) / 2);
  }
  const flipF = o.flipFilter ?? false;
  const u = refUpfirdn(x, xs, up > 1 ? ff : [[1]], [up, up], [1, 1], [px0, px1, py0, py1], flipF, up * up);
  const wk = (o.flipWeight ?? true) ? w : flipKernel(w, ws[2], ws[3]);
  const c = refConv(u.out, u.shape, wk, ws, o.groups ?? 1);
  return down > 1 ? refUpfirdn(c.out, c.shape, ff, [1, 1], [down, down], [0, 0, 0, 0], flipF, 1) : c;
}

/** f64 per-sample weights [N·O, I, kh, kw]. */
function refModulate(w: Float64Array, ws: number[], s: Float64Array, batch: number, demodulate: boolean) {
  const [o, i, kh, kw] = ws;
  const k = i * kh * kw;
  const out = new Float64Array(batch * o * k);
  for (let n = 0; n < batch; n++)
    for (let oc = 0; oc < o; oc++) {
      let ss = 0;
      for (let j = 0; j < k; j++) {
        const u = w[oc * k + j] * s[n * i + Math.floor(j / (kh * kw))];
        out[(n * o + oc) * k + j] = u;
        ss += u * u;
      }
      const d = demodulate ? 1 / Math.sqrt(ss + 1e-8) : 1;
      for (let j = 0; j < k; j++) out[(n * o + oc) * k + j] *= d;
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// modulateWeights

for (const demodulate of [true, false]) {
  test(`modulateWeights forward (demodulate ${demodulate}) against f64`, async () => {
    const ws = [3, 5, 3, 2];
    const { t: w, v: wv } = randTensor(ws, 1);
    const { t: s, v: sv } = randTensor([2, 5], 2, 0.2, 2);
    const y = E.modulateWeights(w, s, { demodulate });
    assert.equal([...y.shape], [6, 5, 3, 2]);
    // Sums of 30 squares in f32: rel 1e-5.
    assertClose(await read(y), refModulate(wv, ws, sv, 2, demodulate), 1e-5, 1e-6, 'modulated weights');
    for (const t of [w, s, y]) t.dispose();
  });

  test(`modulateWeights gradients (demodulate ${demodulate}): fused kernel by finite differences`, async () => {
    await gradCheck((w, s) => E.modulateWeights(w, s, { demodulate }), [{ shape: [3, 4, 3, 3] }, { shape: [2, 4], lo: 0.3, hi: 1.5 }], {
      what: `modulateWeights demod=${demodulate}`,
      // f32 loss differenced with h = 1e-2 on a smooth function.
      rtol: 2e-2,
      atol: 5e-3,
    });
  });

  test(`modulateWeights: the createGraph (composite) gradient equals the fused one (demodulate ${demodulate})`, async () => {
    const { t: w } = randTensor([4, 3, 3, 3], 3);
    const { t: s } = randTensor([2, 3], 4, 0.3, 1.5);
    const { t: g } = randTensor([8, 3, 3, 3], 5);
    w.requiresGrad = s.requiresGrad = true;
    const y = E.modulateWeights(w, s, { demodulate });
    const loss = E.sum(E.mul(y, g));
    const fused = E.grad(loss, [w, s], { retainGraph: true });
    const composite = E.grad(loss, [w, s], { createGraph: true });
    for (let k = 0; k < 2; k++) {
      // Same formula, different summation order: rel 1e-5.
      assertClose(await read(composite[k]!), await read(fused[k]!), 1e-5, 1e-6, k ? 'dstyles' : 'dweight');
    }
    for (const t of [w, s, g, y, loss, ...fused, ...composite]) t?.dispose();
  });
}

test('modulateWeights refuses mismatched shapes, naming the op and the shapes', () => {
  const w = E.zeros([3, 5, 3, 3]);
  const s = E.zeros([2, 4]);
  assert.throws(() => E.modulateWeights(w, s), /modulateWeights: .*\[3, 5, 3, 3\], \[2, 4\]/);
  w.dispose();
  s.dispose();
});

// ---------------------------------------------------------------------------------------------
// conv2dResample: every published path against the generic f64 route

const paths: { name: string; xs: number[]; ws: number[]; taps: number[] | null; up?: number; down?: number; padding?: Pad4; groups?: number; flipWeight?: boolean; flipFilter?: boolean }[] = [
  { name: 'up 2, 3×3 kernel, 4-tap filter, padding 1 (transposed conv + FIR)', xs: [2, 3, 4, 5], ws: [2, 3, 3, 3], taps: BLUR4, up: 2, padding: [1, 1, 1, 1] },
  { name: 'up 2, groups 2, flipWeight false, 3-tap filter', xs: [1, 4, 3, 4], ws: [6, 2, 3, 3], taps: [1, 2, 1], up: 2, padding: [1, 1, 1, 1], groups: 2, flipWeight: false },
  { name: 'up 2 and down 2, flipFilter', xs: [2, 2, 4, 3], ws: [3, 2, 3, 3], taps: BLUR4, up: 2, down: 2, padding: [1, 1, 1, 1], flipFilter: true },
  { name: 'down 2, 3×3 kernel, padding 1 (FIR + strided conv)', xs: [2, 3, 7, 6], ws: [2, 3, 3, 3], taps: BLUR4, down: 2, padding: [1, 1, 1, 1] },
  { name: '1×1 kernel, down 2 (downsample, then convolve)', xs: [2, 3, 6, 5], ws: [4, 3, 1, 1], taps: BLUR4, down: 2 },
  { name: '1×1 kernel, up 2 (convolve, then upsample)', xs: [2, 3, 3, 4], ws: [2, 3, 1, 1], taps: [1, 2, 1], up: 2 },
  { name: 'plain 3×3, padding 1, groups 3', xs: [2, 3, 5, 4], ws: [6, 1, 3, 3], taps: null, padding: [1, 1, 1, 1], groups: 3 },
  { name: 'plain 3×2, flipWeight false, no padding', xs: [1, 2, 4, 5], ws: [3, 2, 3, 2], taps: null, flipWeight: false },
  { name: 'asymmetric and negative padding (generic route)', xs: [2, 2, 5, 6], ws: [3, 2, 3, 3], taps: null, padding: [2, -1, 0, 1] },
];

for (const p of paths) {
  test(`conv2dResample ${p.name}`, async () => {
    const { t: x, v: xv } = randTensor(p.xs, 11);
    const { t: w, v: wv } = randTensor(p.ws, 12);
    const f = p.taps ? E.setupFilter(p.taps) : null;
    const opts = { up: p.up, down: p.down, padding: p.padding, groups: p.groups, flipWeight: p.flipWeight, flipFilter: p.flipFilter };
    const y = E.conv2dResample(x, w, f, opts);
    const want = refConv2dResample(xv, p.xs, wv, p.ws, p.taps ? outer(p.taps) : null, opts);
    assert.equal([...y.shape], want.shape, 'output shape');
    // Two f32 sums of ~100 terms: rel 1e-4, abs 1e-5.
    assertClose(await read(y), want.out, 1e-4, 1e-5, p.name);
    for (const t of [x, w, f, y]) t?.dispose();
  });
}

test('conv2dResample gradients (x and w) by finite differences, up and down paths', async () => {
  const f = E.setupFilter(BLUR4);
  for (const opts of [{ up: 2, padding: 1 }, { down: 2, padding: 1 }]) {
    await gradCheck((x, w) => E.conv2dResample(x, w, f, opts), [{ shape: [2, 2, 4, 3] }, { shape: [3, 2, 3, 3] }], { what: `conv2dResample ${JSON.stringify(opts)}`, rtol: 2e-2, atol: 1e-2 });
  }
  f.dispose();
});

// ---------------------------------------------------------------------------------------------
// modulatedConv2d

const modCases = [
  { name: 'up 2, demodulated (synthesis conv0)', up: 2, padding: 1, demodulate: true, ws: [3, 4, 3, 3] },
  { name: 'plain 3×3, demodulated (synthesis conv1)', up: 1, padding: 1, demodulate: true, ws: [3, 4, 3, 3] },
  { name: '1×1 without demodulation (toRGB)', up: 1, padding: 0, demodulate: false, ws: [3, 4, 1, 1] },
];

for (const c of modCases) {
  test(`modulatedConv2d ${c.name}: fused and non-fused agree with f64`, async () => {
    const xs = [2, 4, 3, 5];
    const { t: x, v: xv } = randTensor(xs, 21);
    const { t: w, v: wv } = randTensor(c.ws, 22);
    const { t: s, v: sv } = randTensor([2, 4], 23, 0.3, 1.5);
    const f = E.setupFilter(BLUR4);
    const opts = { up: c.up, padding: c.padding, demodulate: c.demodulate, resampleFilter: f };
    // Reference: per-sample weights, one grouped convolution over the batch folded into channels.
    const wN = refModulate(wv, c.ws, sv, 2, c.demodulate);
    const pad: Pad4 = [c.padding, c.padding, c.padding, c.padding];
    const want = refConv2dResample(xv, [1, 8, 3, 5], wN, [6, 4, c.ws[2], c.ws[3]], outer(BLUR4), { up: c.up, padding: pad, groups: 2 });
    for (const fusedModconv of [true, false]) {
      const y = E.modulatedConv2d(x, w, s, { ...opts, fusedModconv });
      assert.equal([...y.shape], [2, 3, want.shape[2], want.shape[3]]);
      // f32 sums of ~40 terms after a demodulation: rel 1e-4, abs 2e-5.
      assertClose(await read(y), want.out, 1e-4, 2e-5, `${c.name} fused=${fusedModconv}`);
      y.dispose();
    }
    for (const t of [x, w, s, f]) t.dispose();
  });
}

for (const fusedModconv of [true, false]) {
  test(`modulatedConv2d gradients w.r.t. x, weight and styles (fused ${fusedModconv}, up 2)`, async () => {
    const f = E.setupFilter(BLUR4);
    await gradCheck(
      (x, w, s) => E.modulatedConv2d(x, w, s, { up: 2, padding: 1, resampleFilter: f, fusedModconv }),
      [{ shape: [2, 3, 3, 2] }, { shape: [2, 3, 3, 3] }, { shape: [2, 3], lo: 0.4, hi: 1.5 }],
      { what: `modulatedConv2d fused=${fusedModconv}`, rtol: 2e-2, atol: 1e-2 },
    );
    f.dispose();
  });
}

test('modulatedConv2d second derivative (path-length style): ∂/∂weight of ‖∂L/∂styles‖², fused vs non-fused vs differences', async () => {
  const xs = [2, 2, 3, 3];
  const ws = [2, 2, 3, 3];
  const x = E.tensor(Float32Array.from(randArray(36, 31)), xs);
  const sv = Float64Array.from(randArray(4, 32, 0.4, 1.5));
  const r = E.tensor(Float32Array.from(randArray(36, 33)), [2, 2, 3, 3]);
  const penalty = (wv: Float64Array, fusedModconv: boolean, createGraph: boolean) => {
    const w = E.tensor(Float32Array.from(wv), ws);
    const s = E.tensor(Float32Array.from(sv), [2, 2]);
    w.requiresGrad = s.requiresGrad = true;
    const loss = E.sum(E.mul(E.tanh(E.modulatedConv2d(x, w, s, { padding: 1, fusedModconv })), r));
    const [gs] = E.grad(loss, [s], { createGraph });
    return { w, p: E.sum(E.mul(gs!, gs!)) };
  };
  const wv = Float64Array.from(Float32Array.from(randArray(36, 34)));
  const analytic: Float64Array[] = [];
  for (const fused of [true, false]) {
    const { w, p } = penalty(wv, fused, true);
    E.backward(p);
    analytic.push(await read(w.grad!));
    for (const t of [w, p, w.grad]) t?.dispose();
  }
  // Two exact routes to the same second derivative: rel 1e-3.
  assertClose(analytic[0], analytic[1], 1e-3, 1e-4, 'fused vs non-fused');
  const h = 1e-2;
  const numeric = new Float64Array(wv.length);
  for (let i = 0; i < wv.length; i += 5) {
    const at = async (d: number) => {
      const v = Float64Array.from(wv);
      v[i] += d;
      const t = E.tidy(() => penalty(v, true, false).p);
      const s = await t.item();
      t.dispose();
      return s;
    };
    numeric[i] = ((await at(h)) - (await at(-h))) / (2 * h);
  }
  const every5 = (a: Float64Array) => a.filter((_, i) => i % 5 === 0);
  // f32 penalty differenced with h = 1e-2: rel 3e-2, abs 5e-3.
  assertClose(every5(analytic[0]), every5(numeric), 3e-2, 5e-3, 'd‖∂L/∂s‖²/dw');
  for (const t of [x, r]) t.dispose();
});

test('modulatedConv2d and conv2dResample leave no live buffers behind (forward + backward)', async () => {
  const f = E.setupFilter([1, 2, 1]);
  const x = E.tensor(Float32Array.from(randArray(2 * 3 * 3 * 4, 41)), [2, 3, 3, 4]);
  const w = E.tensor(Float32Array.from(randArray(2 * 3 * 9, 42)), [2, 3, 3, 3]);
  const s = E.tensor(Float32Array.from(randArray(6, 43, 0.5, 1.5)), [2, 3]);
  x.requiresGrad = w.requiresGrad = s.requiresGrad = true;
  const step = (o: object) => {
    const y = E.modulatedConv2d(x, w, s, { resampleFilter: f, ...o });
    const loss = E.sum(y);
    E.backward(loss);
    for (const t of [y, loss, x.grad, w.grad, s.grad]) t?.dispose();
    x.grad = w.grad = s.grad = null;
  };
  const opts = [{ up: 2, padding: 1, flipWeight: false }, { down: 2, padding: 1, fusedModconv: false }, { padding: [1, 0, 2, 1] }];
  for (const o of opts) step(o); // warm-up: pipelines and pooled buffers
  await E.sync();
  const before = E.memoryStats().liveBuffers;
  for (const o of opts) step(o);
  await E.sync();
  assert.is(E.memoryStats().liveBuffers, before, 'live buffers');
  for (const t of [f, x, w, s]) t.dispose();
});

test('modulatedConv2d and conv2dResample errors name the op and the shapes', () => {
  const x = E.zeros([2, 4, 3, 3]);
  const w = E.zeros([3, 5, 3, 3]);
  const s = E.zeros([2, 4]);
  assert.throws(() => E.modulatedConv2d(x, w, s), /modulatedConv2d: .*\[2, 4, 3, 3\], \[3, 5, 3, 3\], \[2, 4\]/);
  assert.throws(() => E.conv2dResample(x, w, null, { up: 0 }), /conv2dResample: up must be a positive integer/);
  for (const t of [x, w, s]) t.dispose();
});

test.run();
