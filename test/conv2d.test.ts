import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randArray, randTensor, read, centralDifferences } from './helpers.js';
import { fullGeo, refConv, outSize, type Geo, type Shape4 } from './references.js';
import { checkConvTranspose2d } from './conv-transpose-check.js';

interface Case {
  name: string;
  x: Shape4;
  w: Shape4;
  geo: Partial<Geo>;
  bias?: boolean;
}

const cases: Case[] = [
  { name: '3×3 pad 1 with bias, batch 2, 7×9', x: [2, 3, 7, 9], w: [5, 3, 3, 3], geo: { padding: [1, 1] }, bias: true },
  { name: 'stride 2, pad 0', x: [2, 3, 7, 9], w: [6, 3, 3, 3], geo: { stride: [2, 2] } },
  { name: 'pad 2, dilation 2', x: [1, 2, 8, 7], w: [3, 2, 3, 3], geo: { padding: [2, 2], dilation: [2, 2] }, bias: true },
  { name: 'groups 2', x: [2, 4, 6, 5], w: [6, 2, 3, 3], geo: { padding: [1, 1], groups: 2 }, bias: true },
  { name: 'depthwise (groups = channels)', x: [2, 3, 5, 6], w: [3, 1, 3, 3], geo: { padding: [1, 1], groups: 3 } },
  { name: '1×1 kernel, 9 output channels (two channel tiles)', x: [2, 5, 3, 7], w: [9, 5, 1, 1], geo: {}, bias: true },
  { name: 'Cin = 1 → 16 (the UNet stem)', x: [2, 1, 6, 10], w: [16, 1, 3, 3], geo: { padding: [1, 1] }, bias: true },
  { name: '2×3 kernel, stride [2, 1], padding [0, 1]', x: [1, 3, 7, 5], w: [4, 3, 2, 3], geo: { stride: [2, 1], padding: [0, 1] } },
  // Stride 1 runs on padded rows; its weight gradient puts input channels on lanes from 8 of them.
  { name: '9 → 10 channels, rows of 7 (channel-block, lane and row tails)', x: [2, 9, 5, 7], w: [10, 9, 3, 3], geo: { padding: [1, 1] }, bias: true },
  { name: 'groups 2 of 8 channels, rows of 8 (vec4 output-gradient loads)', x: [2, 16, 4, 8], w: [6, 8, 3, 3], geo: { padding: [1, 1], groups: 2 } },
  { name: 'rows of 12 (an 8-pixel segment half past the row), 8 channels', x: [1, 8, 3, 12], w: [4, 8, 3, 3], geo: { padding: [1, 1] } },
  { name: 'rows of 4 (4-pixel segments), 8 channels', x: [2, 8, 3, 4], w: [3, 8, 3, 3], geo: { padding: [1, 1] }, bias: true },
  { name: '70 input channels (two lane groups), 1×1 kernel', x: [1, 70, 3, 5], w: [3, 70, 1, 1], geo: {}, bias: true },
  { name: 'rows of 37 (three 16-pixel segments), padding [2, 0]', x: [1, 2, 3, 37], w: [3, 2, 3, 3], geo: { padding: [2, 0] } },
  { name: '1×1 kernel with padding 1 (the input gradient crops: padding −1)', x: [1, 2, 4, 5], w: [3, 2, 1, 1], geo: { padding: [1, 1] } },
  { name: '1×1 kernel with padding 1 on rows of 6 (cropping a source with rows of 8)', x: [1, 2, 3, 6], w: [3, 2, 1, 1], geo: { padding: [1, 1] } },
  // Padded copies of rows a multiple of 4 long shift whole vec4s: column padding 6, 0 (and 1, −1 above).
  { name: 'padding [1, 6] on rows of 8 (pads wider than a vec4)', x: [1, 2, 3, 8], w: [2, 2, 3, 3], geo: { padding: [1, 6] }, bias: true },
  { name: 'padding [2, 0] on rows of 8', x: [1, 2, 3, 8], w: [2, 2, 3, 3], geo: { padding: [2, 0] } },
  { name: '1×1 kernel on rows of 16 (the source needs no padded copy)', x: [1, 3, 2, 16], w: [5, 3, 1, 1], geo: {}, bias: true },
];

// Stride-1 cases again with SRASEG_CONV_ROWS=0: the direct kernels that run when a padded copy would
// not fit one storage binding (e.g. [24, 16, 256, 256] on a 128 MiB adapter).
const unitStride = (c: Case) => (c.geo.stride ?? [1, 1]).every((v) => v === 1) && (c.geo.dilation ?? [1, 1]).every((v) => v === 1);
const runs = [...cases.map((c) => ({ c, direct: false })), ...cases.filter(unitStride).map((c) => ({ c, direct: true }))];

for (const { c, direct } of runs) {
  test(`conv2d ${c.name}${direct ? ' (direct kernels)' : ''}: forward, input, weight and bias gradients vs float64`, async () => {
    if (direct) process.env.SRASEG_CONV_ROWS = '0';
    else delete process.env.SRASEG_CONV_ROWS;
    const geo = fullGeo(c.geo);
    const ys: Shape4 = [c.x[0], c.w[0], outSize(c.x[2], c.w[2], geo, 0), outSize(c.x[3], c.w[3], geo, 1)];
    const x = randTensor(c.x, 1);
    const w = randTensor(c.w, 2);
    const b = randTensor([c.w[0]], 3);
    const dy = randTensor(ys, 4);
    x.t.requiresGrad = w.t.requiresGrad = b.t.requiresGrad = true;
    const y = E.conv2d(x.t, w.t, c.bias ? b.t : null, { ...geo });
    assert.equal([...y.shape], ys);
    const want = refConv(c.x, c.w, ys, geo, { x: x.v, w: w.v, b: b.v, dy: dy.v }, !!c.bias);
    // f32 sums of ≤ 81 products of O(1) terms: 1e-5 absolute is ample.
    assertClose(await read(y), want.y, 1e-5, 1e-5, 'y');
    E.backward(y, { grad: dy.t });
    assertClose(await read(x.t.grad!), want.dx, 1e-5, 1e-5, 'dx');
    // dw sums over N·Ho·Wo ≤ 175 products.
    assertClose(await read(w.t.grad!), want.dw, 1e-5, 1e-4, 'dw');
    if (c.bias) assertClose(await read(b.t.grad!), want.db, 1e-5, 1e-4, 'dbias');
    else assert.is(b.t.grad, null);
    for (const t of [x.t, w.t, b.t, dy.t, y, x.t.grad, w.t.grad, b.t.grad]) t?.dispose();
    delete process.env.SRASEG_CONV_ROWS;
  });
}

test('convTranspose2d stride 2 + outputPadding 1, groups 2, bias: forward and gradients vs float64', async () => {
  // As PyTorch: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw]; out = (H−1)·2 − 2·1 + (3−1) + 1 + 1.
  // y sums ≤ 24 products per element.
  await checkConvTranspose2d([2, 4, 3, 4], [4, 3, 3, 3], [2, 6, 6, 8], 2, 5, { y: 1e-5, dx: 1e-5, dw: 1e-4, db: 1e-4 });
});

test('second derivatives: d/d(x, w) of ‖∂L/∂x‖² + ‖∂L/∂w‖² through conv, vs finite differences', async () => {
  // L = Σ tanh(conv(x, w))·r; the penalty P = ‖∂L/∂x‖² + ‖∂L/∂w‖² differentiates through
  // convInputGrad and convWeightGrad (StyleGAN2's R1 penalty has this shape).
  const xs: Shape4 = [2, 2, 5, 4];
  const ws: Shape4 = [3, 2, 3, 3];
  const opts = { stride: 2, padding: 1 };
  const ys: Shape4 = [2, 3, 3, 2];
  const r = E.tensor(Float32Array.from(randArray(36, 9)), ys);
  const penalty = (xv: Float64Array, wv: Float64Array, createGraph: boolean) => {
    const x = E.tensor(Float32Array.from(xv), xs);
    const w = E.tensor(Float32Array.from(wv), ws);
    x.requiresGrad = w.requiresGrad = true;
    const loss = E.sum(E.mul(E.tanh(E.conv2d(x, w, null, opts)), r));
    const [gx, gw] = E.grad(loss, [x, w], { createGraph });
    const p = E.add(E.sum(E.mul(gx!, gx!)), E.sum(E.mul(gw!, gw!)));
    return { x, w, p };
  };
  const xv = Float64Array.from(Float32Array.from(randArray(80, 10)));
  const wv = Float64Array.from(Float32Array.from(randArray(54, 11, -0.5, 0.5)));
  const { x, w, p } = penalty(xv, wv, true);
  E.backward(p);
  const analytic = [await read(x.grad!), await read(w.grad!)];
  const valueAt = async (xa: Float64Array, wa: Float64Array) => {
    const t = E.tidy(() => penalty(xa, wa, false).p);
    const v = await t.item();
    t.dispose();
    return v;
  };
  const numeric = await centralDifferences(valueAt, [xv, wv], 1e-2);
  // Central differences in f32 with h = 1e-2: O(h²) truncation plus f32 rounding of P ≈ O(10).
  for (const k of [0, 1]) assertClose(analytic[k], numeric[k], 2e-2, 2e-2, k === 0 ? 'd²/dx' : 'd²/dw');
});

test('weight gradient with a reduction longer than the loop cap (split-K): 1×1 conv on [2, 2, 300, 512]', async () => {
  // K = 2·300·512 = 307,200 pixels (76,800 quads per invocation without splitting).
  const xs: Shape4 = [2, 2, 300, 512];
  const ys: Shape4 = [2, 3, 300, 512];
  const x = randTensor(xs, 12);
  const dy = randTensor(ys, 13);
  const w = randTensor([3, 2, 1, 1], 14);
  w.t.requiresGrad = true;
  const y = E.conv2d(x.t, w.t);
  E.backward(y, { grad: dy.t });
  const plane = 300 * 512;
  const want = new Float64Array(6);
  for (let n = 0; n < 2; n++)
    for (let co = 0; co < 3; co++)
      for (let ci = 0; ci < 2; ci++) {
        let s = 0;
        for (let p = 0; p < plane; p++) s += dy.v[(n * 3 + co) * plane + p] * x.v[(n * 2 + ci) * plane + p];
        want[co * 2 + ci] += s;
      }
  // Sums of 307,200 products of U(−1, 1) values (magnitude ~100); f32 partial sums: 1e-2 absolute.
  assertClose(await read(w.t.grad!), want, 1e-4, 1e-2, 'dw');
  for (const t of [x.t, dy.t, w.t, y, w.t.grad]) t?.dispose();
});

test('bad channel counts and options name the op and the shapes', () => {
  const x = E.zeros([1, 3, 5, 5]);
  assert.throws(() => E.conv2d(x, E.zeros([4, 2, 3, 3])), /conv2d: weight expects 2 input channels.*input has 3.*\[1, 3, 5, 5\].*\[4, 2, 3, 3\]/);
  assert.throws(() => E.conv2d(x, E.zeros([4, 1, 3, 3]), null, { groups: 3 }), /conv2d: 4 output channels do not divide into 3 groups/);
  assert.throws(() => E.conv2d(x, E.zeros([4, 3, 3, 3]), E.zeros([5])), /conv2d: bias must be \[4\], got \[5\]/);
  assert.throws(() => E.conv2d(x, E.zeros([4, 3, 7, 7])), /conv2d: the kernel .* does not fit/);
  assert.throws(() => E.convTranspose2d(x, E.zeros([2, 4, 3, 3])), /convTranspose2d: weight expects 2 input channels, input has 3/);
  assert.throws(() => E.convTranspose2d(x, E.zeros([3, 4, 3, 3]), null, { stride: 2, outputPadding: 2 }), /outputPadding 2 must be smaller/);
});

test.run();
