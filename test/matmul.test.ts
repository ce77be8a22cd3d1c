import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randTensor, read } from './helpers.js';
import { refMatmul } from './references.js';

async function checkForward(aShape: number[], bShape: number[], transA = false, transB = false, seed = 1, atol = 2e-5) {
  const a = randTensor(aShape, seed);
  const b = randTensor(bShape, seed + 1);
  const y = E.matmul(a.t, b.t, { transA, transB });
  const want = refMatmul(a.v, aShape, b.v, bShape, transA, transB);
  const what = `matmul ${E.fmtShape(aShape)}${transA ? 'ᵀ' : ''} · ${E.fmtShape(bShape)}${transB ? 'ᵀ' : ''}`;
  assert.equal([...y.shape], want.shape, what);
  // f32 accumulation of K ≤ 300 products of values in [−1, 1]: rel 1e-5 plus abs 2e-5 by default.
  assertClose(await read(y), want.y, 1e-5, atol, what);
  for (const t of [a.t, b.t, y]) t.dispose();
}

test('matmul forward at awkward shapes (edges of the 4×256 tile, K not a multiple of 4)', async () => {
  await checkForward([1, 1], [1, 1]);
  await checkForward([17, 33], [33, 9]);
  await checkForward([5, 7], [7, 300]);
  await checkForward([6, 2], [2, 257]);
  await checkForward([2, 0], [0, 3]); // K = 0: zeros
});

test('matmul: all four transpose combinations', async () => {
  const [M, K, N] = [7, 13, 6];
  await checkForward([M, K], [K, N], false, false);
  await checkForward([K, M], [K, N], true, false);
  await checkForward([M, K], [N, K], false, true);
  await checkForward([K, M], [N, K], true, true);
  await checkForward([2, K, M], [3, 1, N, K], true, true); // transposes with broadcast batches
});

test('matmul: vec4 loaders (rows a multiple of 4) at tile edges, all transposes, batched', async () => {
  // M = 12 and N = 68 end inside the 8-row and 256-column workgroup tiles; K = 20 has no tail.
  const [M, K, N] = [12, 20, 68];
  await checkForward([2, M, K], [2, K, N], false, false);
  await checkForward([2, K, M], [K, N], true, false);
  await checkForward([M, K], [2, N, K], false, true);
  await checkForward([3, K, M], [3, N, K], true, true);
  // Transposed A with vec4 rows along M but K = 7: vec4 steps plus the scalar K tail.
  await checkForward([7, 12], [7, 8], true, false);
});

test('matmul: batched and broadcast batch dims', async () => {
  await checkForward([3, 5, 7], [7, 11]); // rank-2 B shared (folded into M)
  await checkForward([5, 7], [3, 7, 11]); // rank-2 A shared
  await checkForward([2, 1, 4, 6], [3, 6, 5]); // [2,1] ⊕ [3] → [2, 3]
  await checkForward([3, 4, 6], [3, 4, 5], true, false, 5); // transA: [3, 4, 6] used as K = 4, M = 6
});

test('matmul gradients by finite differences (broadcast batch, every transpose)', async () => {
  // gradCheck runs in f32 with h = 1e-2: tolerance rel/abs 2e-2 (its default).
  await gradCheck((a, b) => E.matmul(a, b), [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }], { what: 'matmul NN' });
  await gradCheck((a, b) => E.matmul(a, b, { transA: true }), [{ shape: [4, 3] }, { shape: [2, 4, 2] }], { what: 'matmul TN' });
  await gradCheck((a, b) => E.matmul(a, b, { transB: true }), [{ shape: [2, 3, 4] }, { shape: [5, 4] }], { what: 'matmul NT' });
  await gradCheck((a, b) => E.matmul(a, b, { transA: true, transB: true }), [{ shape: [2, 4, 3] }, { shape: [2, 5, 4] }], { what: 'matmul TT' });
});

test('second derivative: grad of Σ(A·B)² w.r.t. A, then backward again', async () => {
  // L = Σ (AB)²; G = dL/dA = 2·(AB)·Bᵀ. Then S = Σ G⊙W for a fixed W, so dS/dA = 2·W·B·Bᵀ.
  const [M, K, N] = [3, 4, 5];
  const A = randTensor([M, K], 11);
  const B = randTensor([K, N], 12);
  const W = randTensor([M, K], 13);
  A.t.requiresGrad = true;
  const C = E.matmul(A.t, B.t);
  const L = E.sum(E.mul(C, C));
  const [G] = E.grad(L, [A.t], { createGraph: true });
  const S = E.sum(E.mul(G!, W.t));
  E.backward(S);
  // f64 references.
  const ab = refMatmul(A.v, [M, K], B.v, [K, N]).y;
  const wantG = refMatmul(ab, [M, N], B.v, [K, N], false, true).y.map((v) => 2 * v);
  const bbT = refMatmul(B.v, [K, N], B.v, [K, N], false, true).y;
  const wantH = refMatmul(W.v, [M, K], bbT, [K, K]).y.map((v) => 2 * v);
  // f32 with K ≤ 5 terms of O(1): rel 1e-5, abs 1e-5.
  assertClose(await read(G!), wantG, 1e-5, 1e-5, 'first derivative');
  assertClose(await read(A.t.grad!), wantH, 1e-5, 1e-5, 'second derivative');
});

test('linear with and without bias (PyTorch layout) and its gradients', async () => {
  const x = randTensor([2, 3, 10], 21);
  const w = randTensor([7, 10], 22);
  const bias = randTensor([7], 23);
  const plain = refMatmul(x.v, [6, 10], w.v, [7, 10], false, true).y;
  const y0 = E.linear(x.t, w.t);
  assert.equal([...y0.shape], [2, 3, 7]);
  assertClose(await read(y0), plain, 1e-5, 2e-5, 'linear without bias');
  const y1 = E.linear(x.t, w.t, bias.t);
  assertClose(await read(y1), plain.map((v, i) => v + bias.v[i % 7]), 1e-5, 2e-5, 'linear with bias');
  const v = randTensor([10], 24);
  const y2 = E.linear(v.t, w.t, bias.t);
  assert.equal([...y2.shape], [7]);
  // gradCheck tolerance rel/abs 2e-2 (f32 finite differences).
  await gradCheck((a, b, c) => E.linear(a, b, c), [{ shape: [2, 2, 5] }, { shape: [3, 5] }, { shape: [3] }], { what: 'linear' });
  await gradCheck((a, b) => E.linear(a, b), [{ shape: [4, 5] }, { shape: [3, 5] }], { what: 'linear no bias' });
});

test('matmul: K above one dispatch chunk runs as accumulating passes (split-K)', async () => {
  const K = E.MATMUL_K_CHUNK + 1003;
  // Σ of ≈ 67k f32 products (|sum| ~ √K/3 ≈ 86): rounding grows like √K·eps·|sum| ≈ 1e-3, so abs 1e-2.
  // Wrong chunking would be off by whole chunks (≈ 86), far outside that.
  await checkForward([2, K], [K, 3], false, false, 31, 1e-2);
  await checkForward([K, 1], [5, K], true, true, 41, 1e-2);
  await checkForward([3, K + 1], [K + 1, 4], false, false, 51, 1e-2); // K % 4 == 0: vec4 loads
});

test('shape mismatches name the op and the shapes', () => {
  const a = E.zeros([2, 3]);
  const b = E.zeros([4, 5]);
  assert.throws(() => E.matmul(a, b), /matmul: inner dimensions differ for A·B: 3 vs 4.*\[2, 3\], \[4, 5\]/);
  assert.throws(() => E.matmul(E.zeros([2, 2, 3]), E.zeros([3, 3, 4])), /matmul: shapes do not broadcast.*\[2\], \[3\]/);
  assert.throws(() => E.matmul(E.zeros([3]), b), /matmul: operands need rank ≥ 2.*\[3\]/);
  assert.throws(() => E.linear(E.zeros([2, 4]), E.zeros([5, 3])), /linear: input features 4 do not match.*\[2, 4\], \[5, 3\]/);
  assert.throws(() => E.linear(E.zeros([2, 3]), E.zeros([5, 3]), E.zeros([4])), /linear: bias must be \[5\]/);
});

test.run();
