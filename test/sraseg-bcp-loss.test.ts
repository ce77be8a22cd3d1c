import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randArray, read, rng } from './helpers.js';

interface Case {
  shape: number[];
  x: Float64Array;
  la: Int32Array;
  lb: Int32Array;
  m: Float64Array; // [H, W], shared by the batch
}

/** f64 reference of BCP's mixed Dice and CE (weights wA on M = 1, wB on the box). */
function refBcp({ shape, x, la, lb, m }: Case, wA: number, wB: number, smooth = 1e-10) {
  const [B, C, H, W] = shape;
  const P = H * W;
  const logp = new Float64Array(x.length);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < P; k++) {
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, x[(b * C + c) * P + k]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(x[(b * C + c) * P + k] - mx);
      for (let c = 0; c < C; c++) logp[(b * C + c) * P + k] = x[(b * C + c) * P + k] - mx - Math.log(z);
    }
  }
  const region = (labels: Int32Array, inRegion: (k: number) => number) => {
    let dice = 0;
    for (let c = 0; c < C; c++) {
      let inter = 0;
      let zs = 0;
      let ys = 0;
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < P; k++) {
          const p = Math.exp(logp[(b * C + c) * P + k]);
          const t = labels[b * P + k] === c ? 1 : 0;
          const w = inRegion(k);
          inter += p * t * w;
          zs += p * p * w;
          ys += t * t * w;
        }
      }
      dice += 1 - (2 * inter + smooth) / (zs + ys + smooth);
    }
    let ce = 0;
    let area = 0;
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < P; k++) {
        ce -= inRegion(k) * logp[(b * C + labels[b * P + k]) * P + k];
        area += inRegion(k);
      }
    }
    return { dice: dice / C, ce: ce / (area + 1e-16) };
  };
  const a = region(la, (k) => m[k]);
  const b = region(lb, (k) => 1 - m[k]);
  return { dice: wA * a.dice + wB * b.dice, ce: wA * a.ce + wB * b.ce };
}

function makeCase(shape: number[], seed: number): Case {
  const [B, C, H, W] = shape;
  const r = rng(seed);
  const labels = () => Int32Array.from({ length: B * H * W }, () => Math.floor(r() * C));
  const box = E.drawBox(H, W, new E.SeededRng(seed));
  return {
    shape,
    x: Float64Array.from(Float32Array.from(randArray(B * C * H * W, seed, -2, 2))),
    la: labels(),
    lb: labels(),
    m: E.boxMask(H, W, box),
  };
}

test('bcpMixLoss: Dice and CE against f64, weights 1 / 0.5 and swapped, gradient by f64 differences', async () => {
  for (const [shape, wA, wB] of [
    [[2, 4, 6, 9], 1, 0.5],
    [[3, 2, 5, 4], 0.5, 1],
  ] as [number[], number, number][]) {
    const c = makeCase(shape, shape[2]);
    const [B, , H, W] = shape;
    const x = E.tensor(Float32Array.from(c.x), shape);
    x.requiresGrad = true;
    const la = E.tensor(c.la, [B, H, W], 'i32');
    const lb = E.tensor(c.lb, [B, H, W], 'i32');
    const m = E.tensor(Float32Array.from(c.m), [1, 1, H, W]);
    const { dice, ce } = E.bcpMixLoss(x, la, lb, m, { imageWeight: wA, patchWeight: wB });
    const want = refBcp(c, wA, wB);
    assertClose([await dice.item(), await ce.item()], [want.dice, want.ce], 1e-5, 1e-6, `[${shape}] loss`); // f32 sums
    const total = E.mul(E.add(dice, ce), 0.5);
    E.backward(total);
    const got = await read(x.grad!);
    // Check a spread of logits against central differences of the f64 reference.
    const h = 1e-6;
    const idx = [0, 1, 7, Math.floor(c.x.length / 2), c.x.length - 1];
    const f = (xv: Float64Array) => {
      const r = refBcp({ ...c, x: xv }, wA, wB);
      return (r.dice + r.ce) / 2;
    };
    for (const i of idx) {
      const xp = Float64Array.from(c.x);
      const xm = Float64Array.from(c.x);
      xp[i] += h;
      xm[i] -= h;
      assertClose([got[i]], [(f(xp) - f(xm)) / (2 * h)], 1e-3, 1e-6, `[${shape}] d/dx[${i}]`); // f32 gradient vs f64 FD
    }
    for (const t of [x, la, lb, m, dice, ce, total, x.grad!]) t.dispose();
  }
});

test('bcpMixLoss: a per-sample mask is accepted; bad shapes throw', () => {
  const x = E.zeros([2, 3, 4, 4]);
  const l = E.zeros([2, 4, 4], 'i32');
  const { dice, ce } = E.bcpMixLoss(x, l, l, E.zeros([2, 1, 4, 4]));
  assert.equal([...dice.shape], []);
  assert.equal([...ce.shape], []);
  assert.throws(() => E.bcpMixLoss(x, l, l, E.zeros([1, 4, 4])), /bcpMixLoss: expects/);
});

test.run();
