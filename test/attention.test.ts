import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read } from './helpers.js';
import { refAttention } from './references.js';

async function checkCase(lead: number[], nq: number, nk: number, dh: number, scale: number | undefined, seed: number): Promise<void> {
  const name = `attention lead [${lead}] Nq ${nq} Nk ${nk} Dh ${dh}`;
  const B = lead.reduce((a, b) => a * b, 1);
  const q = randTensor([...lead, nq, dh], seed, -2, 2);
  const k = randTensor([...lead, nk, dh], seed + 1, -2, 2);
  const v = randTensor([...lead, nk, dh], seed + 2);
  const gv = Float64Array.from(Float32Array.from(randArray(B * nq * dh, seed + 3)));
  for (const t of [q.t, k.t, v.t]) t.requiresGrad = true;
  const y = E.attention(q.t, k.t, v.t, scale);
  assert.equal([...y.shape], [...lead, nq, dh]);
  const g = E.tensor(Float32Array.from(gv), y.shape);
  E.backward(y, { grad: g });
  const ref = refAttention(q.v, k.v, v.v, gv, B, nq, nk, dh, scale ?? 1 / Math.sqrt(dh));
  // f32 sums over ≤ 257 keys of O(1) terms: relative ~1e-5; atol covers outputs near zero.
  assertClose(await read(y), ref.o, 1e-4, 2e-5, `${name} output`);
  assertClose(await read(q.t.grad!), ref.dq, 1e-3, 1e-4, `${name} dq`);
  assertClose(await read(k.t.grad!), ref.dk, 1e-3, 1e-4, `${name} dk`);
  assertClose(await read(v.t.grad!), ref.dv, 1e-3, 1e-4, `${name} dv`);
  for (const t of [q.t, k.t, v.t]) {
    t.grad!.dispose();
    t.dispose();
  }
  y.dispose();
  g.dispose();
}

// Awkward shapes: 257 tokens (ViT-B/14 at 224²: 16² patches + CLS; not a multiple of the 16-key
// tile) at Dh 64 with B·H = 2; a head width that is not a multiple of 4; Nq ≠ Nk; a single key;
// a batch of heads with one query each.
test('attention forward and gradients match the f64 reference (N 257, Dh 64, B·H 2)', async () => {
  await checkCase([1, 2], 257, 257, 64, undefined, 1);
});
test('attention: Dh 6, Nq 5 ≠ Nk 19, three leading dims, explicit scale', async () => {
  await checkCase([2, 1, 3], 5, 19, 6, 0.7, 11);
});
test('attention: a single key (probabilities are 1) and one query per head', async () => {
  await checkCase([3], 4, 1, 8, undefined, 21);
  await checkCase([2, 3], 1, 17, 16, undefined, 31);
});

test('attention (software kernels) with one row per invocation and with 3 (groups cut by N)', async () => {
  for (const slots of ['1', '3']) {
    process.env.SRASEG_ATTENTION_SLOTS = slots;
    try {
      await checkCase([2], 7, 10, 8, undefined, 51);
      await checkCase([1], 4, 5, 5, 0.5, 61);
    } finally {
      delete process.env.SRASEG_ATTENTION_SLOTS;
    }
  }
});

test('attention matches the unfused composition matmul → softmax → matmul, values and gradients', async () => {
  const shape = [2, 2, 37, 12];
  const [q1, k1, v1] = [1, 2, 3].map((s) => randTensor(shape, 40 + s, -3, 3).t);
  const [q2, k2, v2] = [q1, k1, v1].map((t) => E.clone(t));
  for (const t of [q1, k1, v1, q2, k2, v2]) t.requiresGrad = true;
  const fused = E.attention(q1, k1, v1);
  const unfused = E.matmul(E.softmax(E.mul(E.matmul(q2, k2, { transB: true }), 1 / Math.sqrt(12)), -1), v2);
  // Same f32 inputs, different summation orders: agreement to ~1e-6 relative.
  assertClose(await read(fused), await read(unfused), 1e-4, 1e-5, 'fused vs unfused output');
  const g = randTensor(shape, 49).t;
  E.backward(fused, { grad: g });
  E.backward(unfused, { grad: g });
  for (const [a, b, what] of [[q1, q2, 'dq'], [k1, k2, 'dk'], [v1, v2, 'dv']] as const) {
    assertClose(await read(a.grad!), await read(b.grad!), 1e-3, 1e-4, `fused vs unfused ${what}`);
  }
});

test('attention gradients by finite differences', async () => {
  await gradCheck((q, k, v) => E.attention(q, k, v), [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }, { shape: [2, 5, 4] }], { what: 'attention' });
});

test('attention rejects mismatched shapes, naming the op', () => {
  const q = E.zeros([1, 2, 3, 4]);
  const k = E.zeros([1, 2, 5, 4]);
  const v = E.zeros([1, 2, 5, 3]);
  assert.throws(() => E.attention(q, k, v), /attention.*same shape/);
  assert.throws(() => E.attention(q, E.zeros([1, 2, 5, 8]), E.zeros([1, 2, 5, 8])), /attention.*head widths/);
  assert.throws(() => E.attention(q, E.zeros([2, 2, 5, 4]), E.zeros([2, 2, 5, 4])), /attention.*leading/);
});

test.run();
