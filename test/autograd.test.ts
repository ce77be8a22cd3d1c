import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, read } from './helpers.js';

const leaf = (values: number[], shape = [values.length]) => {
  const t = E.tensor(values, shape);
  t.requiresGrad = true;
  return t;
};

test('gradients accumulate across backward calls and through shared subexpressions', async () => {
  const x = leaf([1, 2, 3]);
  // y = Σ x·x + Σ x  →  dy/dx = 2x + 1, used twice through x.
  const y = E.add(E.sum(E.mul(x, x)), E.sum(x));
  E.backward(y);
  assertClose(await read(x.grad!), [3, 5, 7], 0, 1e-6, 'first backward');
  const y2 = E.sum(E.mul(x, 2));
  E.backward(y2);
  assertClose(await read(x.grad!), [5, 7, 9], 0, 1e-6, 'accumulated');
});

test('noGrad records nothing and backward on it fails clearly', () => {
  const x = leaf([1, 2]);
  const y = E.noGrad(() => E.sum(E.exp(x)));
  assert.is(y.requiresGrad, false);
  assert.is(y.gradFn, null);
  assert.throws(() => E.backward(y), /does not require grad/);
});

test('saved tensors are released after backward (and kept with retainGraph)', () => {
  const x = leaf([0.5, 1.5]);
  const y = E.exp(x);
  const s = E.sum(y);
  const node = y.gradFn!;
  assert.is(node.saved.length, 1);
  E.backward(s, { retainGraph: true });
  assert.is(node.released, false);
  E.backward(s);
  assert.is(node.released, true);
  assert.is(node.saved.length, 0);
});

test('tidy disposes intermediates, keeps the result, and the graph survives disposal of intermediates', async () => {
  const x = leaf([1, 2, 3]);
  const before = E.memoryStats().liveBuffers;
  const loss = E.tidy(() => E.sum(E.mul(E.exp(x), E.tanh(x))));
  // Intermediates are gone but the nodes hold what the backward needs.
  E.backward(loss);
  const want = [1, 2, 3].map((v) => Math.exp(v) * Math.tanh(v) + Math.exp(v) * (1 - Math.tanh(v) ** 2));
  assertClose(await read(x.grad!), want, 1e-5, 1e-5, 'd/dx e^x tanh x');
  loss.dispose();
  x.grad!.dispose();
  x.grad = null;
  assert.is(E.memoryStats().liveBuffers, before, 'no live buffers left behind');
});

// Second derivatives: d/dx of (dy/dx) via createGraph, compared with closed forms in f64.
const second: [string, (x: E.Tensor) => E.Tensor, (v: number) => number][] = [
  ['x³ (pow)', (x) => E.pow(x, 3), (v) => 6 * v],
  ['exp', E.exp, Math.exp],
  ['tanh', E.tanh, (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)],
  ['sigmoid', E.sigmoid, (v) => { const s = 1 / (1 + Math.exp(-v)); return s * (1 - s) * (1 - 2 * s); }],
  ['log', E.log, (v) => -1 / (v * v)],
  ['sqrt', E.sqrt, (v) => -0.25 * v ** -1.5],
  ['x·sin-free product x·exp(x)', (x) => E.mul(x, E.exp(x)), (v) => (2 + v) * Math.exp(v)],
  ['gelu', E.gelu, (v) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI) * (2 - v * v)],
  ['div 1/x', (x) => E.div(E.onesLike(x), x), (v) => 2 / v ** 3],
];

for (const [name, f, d2] of second) {
  test(`second derivative of ${name}`, async () => {
    const vals = [0.3, 0.9, 1.7];
    const x = leaf(vals);
    const [g] = E.grad(E.sum(f(x)), [x], { createGraph: true });
    assert.ok(g!.requiresGrad, 'first-order gradient is itself differentiable');
    E.backward(E.sum(g!));
    // f32 chains of 3–6 ops: rel 1e-4.
    assertClose(await read(x.grad!), vals.map(d2), 1e-4, 1e-5, name);
  });
}

test('grad() returns gradients without touching .grad, and respects broadcasting', async () => {
  const a = leaf([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = leaf([10, 20, 30], [3]);
  const [ga, gb] = E.grad(E.sum(E.mul(a, b)), [a, b]);
  assertClose(await read(ga!), [10, 20, 30, 10, 20, 30], 0, 0, 'd/da');
  assertClose(await read(gb!), [5, 7, 9], 0, 0, 'd/db');
  assert.is(a.grad, null);
});

test('grad() with respect to an intermediate tensor, also with createGraph (second order through it)', async () => {
  const a = leaf([1, 2, 3], [3]);
  const h = E.mul(a, a); // intermediate: h = a²
  const y = E.sum(E.mul(h, h)); // y = Σ h² → dy/dh = 2h
  const [gh] = E.grad(y, [h], { createGraph: true });
  assertClose(await read(gh!), [2, 8, 18], 0, 0, 'dy/dh = 2a²');
  const [ga] = E.grad(E.sum(gh!), [a]); // d(Σ 2a²)/da = 4a
  assertClose(await read(ga!), [4, 8, 12], 0, 0, 'd(Σ dy/dh)/da');
});

test('backward of a non-scalar needs an explicit gradient', () => {
  const x = leaf([1, 2]);
  assert.throws(() => E.backward(E.exp(x)), /not a scalar/);
});

test('layout ops: slice, pad, concat, permute, expand with gradients', async () => {
  const x = leaf([0, 1, 2, 3, 4, 5], [2, 3]);
  const y = E.concat([E.slice(x, 1, 1, 3), E.slice(x, 1, 0, 1)], 1);
  assert.equal([...y.shape], [2, 3]);
  assertClose(await read(E.permute(E.reshape(x, [3, 2]), [1, 0])), [0, 2, 4, 1, 3, 5], 0, 0, 'permute');
  assertClose(await read(y), [1, 2, 0, 4, 5, 3], 0, 0, 'concat of slices');
  const p = E.pad(x, [1, 0], [0, 2]);
  assert.equal([...p.shape], [3, 5]);
  assertClose(await read(p), [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 5, 0, 0], 0, 0, 'pad');
  const w = E.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  E.backward(E.sum(E.mul(E.add(y, E.expand(E.reshape(E.sum(x, 1), [2, 1]), [2, 3])), w)));
  // d/dx: from y: slice(1:3) gets w[:,0:2], slice(0:1) gets w[:,2]; from expand(sum): Σ_j w[i,j] for every x[i,:].
  const want = [3 + 6, 1 + 6, 2 + 6, 6 + 15, 4 + 15, 5 + 15];
  assertClose(await read(x.grad!), want, 0, 1e-6, 'layout gradients');
});

test('reductions: sum/mean/max over several axes, argmax first index on ties', async () => {
  const vals = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 9];
  const x = E.tensor(vals, [2, 3, 2]);
  assertClose(await read(E.sum(x, [0, 2])), [3 + 1 + 2 + 6, 4 + 1 + 5 + 3, 5 + 9 + 5 + 9], 0, 0, 'sum axes 0,2');
  assertClose(await read(E.mean(x, 1, true)), [4, 11 / 3, 4, 6], 1e-6, 1e-6, 'mean keepdim');
  assertClose(await read(E.max(x, -1)), [3, 4, 9, 6, 5, 9], 0, 0, 'max last');
  const am = E.argmax(E.tensor([1, 7, 7, 2, 9, 9, 9, 0], [2, 4]), 1);
  assert.equal([...(await am.data())], [1, 0]);
});

test.run();
