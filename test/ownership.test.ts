// The ownership model (src/engine/tensor/scope.ts): async scopes hold across await, interleaved async
// scopes keep their own tensors, failures free everything, and strict mode refuses a tensor created
// outside every scope, naming the op. These use `rawTest` (no scope around the body), as a command-
// line run has none. Mistakes they catch (each made once by hand in scope.ts): a single global scope
// stack instead of one per async context (the interleaving test fails: one scope frees the other's
// tensor); dropping the `.then` disposal of an async tidy (the across-await test leaks); a strict mode
// that only warns (the strict tests fail); disposing a returned tensor (the result test fails).
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { rawTest as test } from './harness.js';

const live = () => E.memoryStats().liveBuffers;

test('an async tidy owns what is created after an await, and frees it when the promise settles', async () => {
  const before = live();
  const kept = await E.tidy(async () => {
    const a = E.tensor([1, 2, 3]);
    await E.sync();
    const b = E.mul(a, 2); // created after the await: still this scope's
    await a.data();
    const c = E.add(b, 1);
    return c;
  });
  assert.is(live(), before + 1, 'only the returned tensor survives');
  assert.equal([...(await kept.data())], [3, 5, 7]);
  kept.dispose();
  assert.is(live(), before);
});

test('two async scopes whose awaits interleave keep their own tensors', async () => {
  const before = live();
  const order: string[] = [];
  const run = (name: string, value: number, waits: number) =>
    E.tidy(async () => {
      const t = E.tensor([value]);
      for (let i = 0; i < waits; i++) await new Promise((r) => setImmediate(r));
      order.push(name);
      const r = E.add(t, 0); // still readable: the other scope ending must not have freed `t`
      return r;
    });
  const [x, y] = await Promise.all([run('long', 1, 4), run('short', 2, 1)]);
  assert.equal(order, ['short', 'long'], 'the scopes really interleaved');
  assert.equal([...(await x.data())], [1]);
  assert.equal([...(await y.data())], [2]);
  x.dispose();
  y.dispose();
  assert.is(live(), before);
});

test('a rejected async tidy frees everything it created', async () => {
  const before = live();
  let failed = false;
  try {
    await E.tidy(async () => {
      E.tensor([1]);
      await E.sync();
      E.tensor([2]);
      throw new Error('boom');
    });
  } catch {
    failed = true;
  }
  assert.ok(failed);
  assert.is(live(), before);
});

test('keep() inside an async scope hands the tensor to the caller', async () => {
  const before = live();
  let held: E.Tensor | null = null;
  await E.tidy(async () => {
    await E.sync();
    held = E.keep(E.tensor([5]));
    E.tensor([6]);
  });
  assert.is(live(), before + 1);
  (held as unknown as E.Tensor).dispose();
  assert.is(live(), before);
});

test('strict mode: a tensor created outside every scope throws, naming the op and shape', () => {
  assert.ok(E.isStrictOwnership(), 'test/run.mjs turns strict ownership on');
  const before = live();
  assert.throws(() => E.zeros([2, 3]), /zeros: a \[2, 3\] f32 tensor was created outside any scope/);
  const x = E.tidy(() => E.tensor([1, 2]));
  assert.throws(() => E.exp(x), /exp.*\[2\] f32 tensor was created outside any scope/);
  x.dispose();
  assert.is(live(), before, 'the refused allocation went back to the pool');
});

test('strict mode: results handed out of a scope, and kept tensors, are owned', async () => {
  const x = E.tidy(() => E.tensor([1, 2]));
  const y = E.tidy(() => E.exp(x));
  assert.equal((await E.tidy(async () => [...(await y.data())])).length, 2);
  x.dispose();
  y.dispose();
  const prev = E.setStrictOwnership(false);
  try {
    const loose = E.tensor([1]); // allowed when strict mode is off
    loose.dispose();
  } finally {
    E.setStrictOwnership(prev);
  }
});

test.run();
