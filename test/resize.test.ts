import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randTensor, read } from './helpers.js';

const f = Math.fround;

/** One output index's source taps along an axis: [index, weight] pairs. */
type Taps = [number, number][];

/**
 * PyTorch's taps (aten/src/ATen/native/UpSample.h), with its f32 arithmetic emulated by fround:
 * bilinear uses area_pixel_compute_source_index (+ the clamp at 0 for align_corners=False),
 * nearest uses nearest_idx = min(⌊o · in/out⌋, in − 1).
 */
function axisTaps(mode: 'bilinear' | 'nearest', inLen: number, outLen: number, alignCorners: boolean): Taps[] {
  return Array.from({ length: outLen }, (_, o): Taps => {
    if (mode === 'nearest') return [[Math.min(Math.floor(f(o * f(inLen / outLen))), inLen - 1), 1]];
    if (inLen === outLen) return [[o, 1]];
    let src: number;
    if (alignCorners) src = f((outLen > 1 ? f((inLen - 1) / (outLen - 1)) : 0) * o);
    else src = Math.max(f(f(f(inLen / outLen) * (o + 0.5)) - 0.5), 0);
    const i0 = Math.min(Math.floor(src), inLen - 1);
    const l1 = Math.min(Math.max(src - i0, 0), 1);
    return [
      [i0, 1 - l1],
      [i0 < inLen - 1 ? i0 + 1 : i0, l1],
    ];
  });
}

/** float64 reference resize and its adjoint (the transpose, by scattering). */
function refResize(mode: 'bilinear' | 'nearest', shape: number[], size: [number, number], alignCorners: boolean) {
  const [N, C, H, W] = shape;
  const [OH, OW] = size;
  const th = axisTaps(mode, H, OH, alignCorners);
  const tw = axisTaps(mode, W, OW, alignCorners);
  const each = (visit: (iIn: number, iOut: number, weight: number) => void) => {
    for (let pl = 0; pl < N * C; pl++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (const [h, wh] of th[oh]) for (const [w, ww] of tw[ow]) visit((pl * H + h) * W + w, (pl * OH + oh) * OW + ow, wh * ww);
  };
  return {
    forward(x: ArrayLike<number>): Float64Array {
      const y = new Float64Array(N * C * OH * OW);
      each((i, o, wt) => (y[o] += wt * x[i]));
      return y;
    },
    adjoint(g: ArrayLike<number>): Float64Array {
      const dx = new Float64Array(N * C * H * W);
      each((i, o, wt) => (dx[i] += wt * g[o]));
      return dx;
    },
  };
}

const cases: { shape: number[]; size: [number, number]; what: string }[] = [
  { shape: [2, 3, 5, 7], size: [9, 4], what: 'up in H, down in W' },
  { shape: [1, 2, 1, 1], size: [3, 4], what: 'from a single pixel' },
  { shape: [2, 1, 4, 6], size: [1, 1], what: 'to a single pixel' },
  { shape: [1, 1, 5, 7], size: [5, 7], what: 'same size' },
  { shape: [1, 2, 3, 4], size: [7, 11], what: 'non-integer upsampling' },
  { shape: [1, 1, 8, 12], size: [3, 5], what: 'non-integer downsampling' },
  { shape: [1, 1, 2, 3], size: [40, 3], what: 'upsampling by 20 in H' },
  // The adjoint visits ~300 candidate outputs per input, so it runs in smaller workgroups.
  { shape: [2, 1, 1, 2], size: [300, 2], what: 'from one row to 300' },
];

const ops: ['bilinear' | 'nearest', boolean, (x: E.Tensor, size: [number, number]) => E.Tensor][] = [
  ['bilinear', false, (x, s) => E.resizeBilinear(x, s, false)],
  ['bilinear', true, (x, s) => E.resizeBilinear(x, s, true)],
  ['nearest', false, (x, s) => E.resizeNearest(x, s)],
];

for (const [mode, alignCorners, op] of ops) {
  const name = mode === 'nearest' ? 'resizeNearest' : `resizeBilinear(alignCorners=${alignCorners})`;
  for (const c of cases) {
    test(`${name} forward and exact adjoint gradient: ${c.what} ${JSON.stringify(c.shape)} → ${JSON.stringify(c.size)}`, async () => {
      const ref = refResize(mode, c.shape, c.size, alignCorners);
      const { t, v } = randTensor(c.shape, 3);
      t.requiresGrad = true;
      const y = op(t, c.size);
      assert.equal([...y.shape], [c.shape[0], c.shape[1], ...c.size]);
      assertClose(await read(y), ref.forward(v), 1e-5, 1e-6, name); // f32 blend of ≤ 4 taps
      const { t: g, v: gv } = randTensor([...y.shape], 4);
      E.backward(y, { grad: g });
      // f32 sums of up to 300 gradient terms of O(1).
      assertClose(await read(t.grad!), ref.adjoint(gv), 1e-5, 1e-4, `${name} gradient`);
    });
  }

  test(`${name} gradient by finite differences`, async () => {
    await gradCheck((x) => op(x, [5, 3]), [{ shape: [1, 2, 3, 4] }], { what: name });
  });

  test(`${name} backward is differentiable: its gradient is the resize itself`, async () => {
    const shape = [2, 1, 4, 5];
    const size: [number, number] = [7, 3];
    const { t: x } = randTensor(shape, 21);
    x.requiresGrad = true;
    const { t: w } = randTensor([2, 1, ...size], 22);
    w.requiresGrad = true;
    const { t: u, v: uv } = randTensor(shape, 23);
    // L1 = Σ resize(x)·w gives dx = resizeᵀ(w); L2 = Σ dx·u then has ∂L2/∂w = resize(u).
    const [dx] = E.grad(E.sum(E.mul(op(x, size), w)), [x], { createGraph: true });
    const [dw] = E.grad(E.sum(E.mul(dx!, u)), [w]);
    assertClose(await read(dw!), refResize(mode, shape, size, alignCorners).forward(uv), 1e-5, 1e-6, `${name} second derivative`);
  });
}

test('resizeNearest copies infinities without producing NaN', async () => {
  const x = E.tensor([Infinity, -Infinity, 1, 2], [1, 1, 2, 2]);
  x.requiresGrad = true;
  const y = E.resizeNearest(x, [3, 3]);
  assert.equal([...(await y.data())], [Infinity, Infinity, -Infinity, Infinity, Infinity, -Infinity, 1, 1, 2]);
});

test('resize errors name the op and the shapes', () => {
  assert.throws(() => E.resizeBilinear(E.zeros([3, 4, 5]), [2, 2], false), /resizeBilinear: .*rank 3.*\[3, 4, 5\]/);
  assert.throws(() => E.resizeNearest(E.zeros([1, 1, 4, 5]), [0, 2]), /resizeNearest: size must be two integers ≥ 1.*\[1, 1, 4, 5\]/);
  assert.throws(() => E.resizeBilinear(E.zeros([1, 1, 0, 5]), [2, 2], true), /resizeBilinear: input height and width.*\[1, 1, 0, 5\]/);
  assert.throws(() => E.resizeNearest(E.zeros([1, 1, 2, 2], 'i32'), [4, 4]), /resizeNearest: expects an f32 tensor, got i32/);
});

test.run();
