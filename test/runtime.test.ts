import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

test('released buffers are reused only after a submit (deferred release)', async () => {
  await E.sync();
  const r = E.runtime();
  const a = E.zeros([1000]);
  const buf = a.buffer();
  a.dispose();
  assert.is(r.pool.getStats().deferredBuffers > 0, true, 'released buffer waits for the submit');
  const b = E.zeros([1000]); // acquired before any submit: must not get the same buffer
  assert.is.not(b.buffer(), buf);
  await E.sync();
  const c = E.zeros([1000]);
  assert.is(c.buffer(), buf, 'after the submit it is reused');
  b.dispose();
  c.dispose();
});

test('a buffer over the adapter limit is refused with a message naming the size', () => {
  const { maxStorageBufferBindingSize, maxBufferSize } = E.runtime().ctx.limits;
  const limit = Math.min(maxStorageBufferBindingSize, maxBufferSize);
  const elements = Math.ceil(limit / 4) + 1024;
  try {
    E.empty([elements]);
    assert.unreachable('a buffer over the limit was handed out');
  } catch (e) {
    assert.instance(e, E.BufferLimitError); // an InputError: one line and exit 2 in a command
    const { bytes, limit: said } = e as E.BufferLimitError;
    assert.equal([bytes, said], [elements * 4, limit]);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    assert.is((e as Error).message, `tensor: a buffer of ${(elements * 4).toLocaleString('en')} bytes exceeds this adapter's largest storage binding (${mib(limit)}); use a smaller batch or image size`);
  }
});

test('pipelines are cached by key: repeated ops compile nothing new', async () => {
  const x = E.tensor([1, 2, 3]);
  E.tidy(() => E.exp(E.add(x, x)));
  const before = E.memoryStats().pipelines;
  E.tidy(() => E.exp(E.add(x, E.tensor([4, 5, 6]))));
  assert.is(E.memoryStats().pipelines, before);
  x.dispose();
});

test('tidy returns nested results and disposes the rest', async () => {
  const live = E.memoryStats().liveBuffers;
  const depth = E.scopeDepth();
  const { a, list } = E.tidy(() => {
    const t = E.tensor([1, 2]);
    E.exp(t);
    return { a: E.mul(t, 2), list: [E.add(t, 1)] };
  });
  await E.sync();
  assert.is(E.memoryStats().liveBuffers, live + 2);
  assert.equal([...(await a.data())], [2, 4]);
  a.dispose();
  list[0].dispose();
  assert.is(E.memoryStats().liveBuffers, live);
  assert.is(E.scopeDepth(), depth);
});

test('uploads with a wrong element count name the shape', () => {
  assert.throws(() => E.tensor([1, 2, 3], [2, 2]), /3 values cannot fill shape \[2, 2\]/);
});

test('a negative or fractional dimension is refused with the shape', () => {
  assert.throws(() => E.zeros([2, -1]), /invalid dimension -1 \(shapes: \[2, -1\]\)/);
  assert.throws(() => E.empty([1.5]), /invalid dimension 1\.5/);
});

test.run();
