import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';

/** Direct 2-D reference of a k×k smoothing (weights w2d row-major), replicate or zero padding. */
function refSmooth(m: Float64Array, H: number, W: number, w2d: number[], k: number, zeroPad: boolean): Float64Array {
  const r = (k - 1) / 2;
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          const inside = yy >= 0 && yy < H && xx >= 0 && xx < W;
          if (!inside && zeroPad) continue;
          const v = m[Math.min(H - 1, Math.max(0, yy)) * W + Math.min(W - 1, Math.max(0, xx))];
          s += w2d[(dy + r) * k + dx + r] * v;
        }
      }
      out[y * W + x] = s;
    }
  }
  return out;
}

function kernel2d(kind: 'avgpool3' | 'gauss5' | 'box7'): { w: number[]; k: number } {
  if (kind === 'avgpool3') return { w: new Array(9).fill(1 / 9), k: 3 };
  if (kind === 'box7') return { w: new Array(49).fill(1 / 49), k: 7 };
  const w: number[] = [];
  for (let y = -2; y <= 2; y++) for (let x = -2; x <= 2; x++) w.push(Math.exp(-(x * x + y * y) / 2));
  const s = w.reduce((a, b) => a + b, 0);
  return { w: w.map((v) => v / s), k: 5 };
}

test('drawBox: ⌊2/3·side⌋ at a uniform position in [0, side − box), reproducible from the seed', () => {
  const a = new E.SeededRng(5);
  const b = new E.SeededRng(5);
  const tops = new Set<number>();
  for (let i = 0; i < 400; i++) {
    const box = E.drawBox(24, 30, a);
    assert.equal(box, E.drawBox(24, 30, b));
    assert.is(box.height, 16);
    assert.is(box.width, 20);
    assert.ok(box.top >= 0 && box.top < 8 && box.left >= 0 && box.left < 10, JSON.stringify(box));
    tops.add(box.top);
  }
  assert.is(tops.size, 8); // every start row occurs
  assert.is(E.drawBox(256, 256, new E.SeededRng(1)).height, 170); // as the published int(256·2/3)
  const m = E.boxMask(4, 5, { top: 1, left: 2, height: 2, width: 3 });
  assert.equal([...m], [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
});

test('smoothMask matches a direct 2-D f64 reference for every kernel and padding', () => {
  const H = 13;
  const W = 11;
  for (const box of [
    { top: 3, left: 2, height: 6, width: 5 },
    { top: 0, left: 0, height: 8, width: 7 }, // touching the border
  ]) {
    const m = E.boxMask(H, W, box);
    for (const kind of ['avgpool3', 'gauss5', 'box7'] as const) {
      const { w, k } = kernel2d(kind);
      for (const zeroPad of [false, true]) {
        assertClose(E.smoothMask(m, H, W, kind, { zeroPad }), refSmooth(m, H, W, w, k, zeroPad), 1e-12, 1e-12, `${kind} zeroPad=${zeroPad}`);
      }
    }
  }
  assert.equal([...E.smoothMask(Float64Array.of(1, 0), 1, 2, 'none')], [1, 0]);
  assert.throws(() => E.smoothMask(new Float64Array(3), 2, 2, 'avgpool3'), /smoothMask: 3 values/);
});

test('border: replicate padding leaves the image border unblended, zero padding blends it', () => {
  const H = 20;
  const W = 20;
  const m = E.boxMask(H, W, { top: 6, left: 6, height: 8, width: 8 });
  for (const kind of ['avgpool3', 'gauss5', 'box7'] as const) {
    const rep = E.smoothMask(m, H, W, kind);
    const zero = E.smoothMask(m, H, W, kind, { zeroPad: true });
    const r = kind === 'avgpool3' ? 1 : kind === 'gauss5' ? 2 : 3;
    for (let x = 0; x < W; x++) {
      assertClose([rep[x], rep[(H - 1) * W + x]], [1, 1], 0, 1e-12, `${kind} replicate border`);
    }
    // Zero padding: the corner sees only the in-image part of the window.
    const { w, k } = kernel2d(kind);
    let inside = 0;
    for (let dy = 0; dy <= r; dy++) for (let dx = 0; dx <= r; dx++) inside += w[(dy + r) * k + dx + r];
    assertClose([zero[0]], [inside], 0, 1e-12, `${kind} zero-padded corner`);
    // The box edge is softened either way: α rises from 0 inside to 1 outside.
    assert.ok(rep[10 * W + 6] > 0 && rep[10 * W + 6] < 1 && rep[10 * W + 10] < rep[10 * W + 6], kind);
  }
});

test('mixingMask uploads α [1, 1, H, W] of the drawn, smoothed box', async () => {
  const rngA = new E.SeededRng(9);
  const { alpha, box } = E.mixingMask(12, 9, rngA, { blend: 'gauss5' });
  assert.equal([...alpha.shape], [1, 1, 12, 9]);
  const want = E.smoothMask(E.boxMask(12, 9, E.drawBox(12, 9, new E.SeededRng(9))), 12, 9, 'gauss5');
  assert.equal(box, E.drawBox(12, 9, new E.SeededRng(9)));
  assertClose(await read(alpha), want, 1e-6, 1e-7, 'alpha'); // f32 upload
  alpha.dispose();
});

/** f64 reference of blend: a·α + b·(1 − α), α [Ba, 1, H, W]. */
function refBlend(a: Float64Array, b: Float64Array, alpha: Float64Array, shape: number[], alphaBatch: number): Float64Array {
  const [, C, H, W] = shape;
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const n = Math.floor(i / (C * H * W));
    const w = alpha[(alphaBatch === 1 ? 0 : n) * H * W + (i % (H * W))];
    out[i] = a[i] * w + b[i] * (1 - w);
  }
  return out;
}

test('blend: forward and both gradients against f64, shared and per-sample α', async () => {
  const shape = [3, 5, 7, 9];
  for (const alphaBatch of [1, 3]) {
    const A = randTensor(shape, 1);
    const B = randTensor(shape, 2);
    const W = randTensor([alphaBatch, 1, 7, 9], 3, 0, 1);
    const G = randTensor(shape, 4);
    A.t.requiresGrad = true;
    B.t.requiresGrad = true;
    const y = E.blend(A.t, B.t, W.t);
    assertClose(await read(y), refBlend(A.v, B.v, W.v, shape, alphaBatch), 1e-6, 1e-6, 'blend'); // f32 rounding of 2 products
    E.backward(y, { grad: G.t });
    const zero = new Float64Array(A.v.length);
    // d/da = g·α = blend(g, 0); d/db = g·(1 − α) = blend(0, g).
    assertClose(await read(A.t.grad!), refBlend(G.v, zero, W.v, shape, alphaBatch), 1e-6, 1e-7, 'dA');
    assertClose(await read(B.t.grad!), refBlend(zero, G.v, W.v, shape, alphaBatch), 1e-6, 1e-7, 'dB');
    // The differentiable rule used under createGraph gives the same gradient.
    const [ga] = E.grad(E.sum(E.mul(E.blend(A.t, B.t, W.t), G.t)), [A.t], { createGraph: true });
    assertClose(await read(ga!), refBlend(G.v, zero, W.v, shape, alphaBatch), 1e-6, 1e-7, 'dA createGraph');
    for (const t of [A.t, B.t, W.t, G.t, y, ga!, A.t.grad!, B.t.grad!]) t.dispose();
  }
});

test('mixPair blends images and labels with the same α (eq. 10–11)', async () => {
  const img = [randTensor([2, 1, 4, 5], 21), randTensor([2, 1, 4, 5], 22)];
  const lab = [randTensor([2, 3, 4, 5], 23, 0, 1), randTensor([2, 3, 4, 5], 24, 0, 1)];
  const w = randTensor([1, 1, 4, 5], 25, 0, 1);
  const mixed = E.mixPair({ image: img[0].t, label: lab[0].t }, { image: img[1].t, label: lab[1].t }, w.t);
  assertClose(await read(mixed.image), refBlend(img[0].v, img[1].v, w.v, [2, 1, 4, 5], 1), 1e-6, 1e-6, 'image');
  assertClose(await read(mixed.label), refBlend(lab[0].v, lab[1].v, w.v, [2, 3, 4, 5], 1), 1e-6, 1e-6, 'label');
});

test('blend: only inputs that require grad get one; shape errors name the op', async () => {
  const a = E.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
  const b = E.tensor([5, 6, 7, 8], [1, 1, 2, 2]);
  const w = E.tensor([1, 0.5, 0, 0.25], [1, 1, 2, 2]);
  b.requiresGrad = true;
  const y = E.blend(a, b, w);
  assert.equal([...(await y.data())], [1, 4, 7, 7]);
  E.backward(E.sum(y));
  assert.is(a.grad, null);
  assert.equal([...(await b.grad!.data())], [0, 0.5, 1, 0.75]);
  assert.throws(() => E.blend(a, b, E.zeros([1, 2, 2, 2])), /blend: alpha must be/);
  assert.throws(() => E.blend(a, E.zeros([1, 1, 2, 3]), w), /blend: a and b/);
});

test.run();
