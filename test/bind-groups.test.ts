// The bind-group cache (src/engine/gpu/bind-groups.ts): a dispatch over buffers seen before reuses the
// bind group made for them; results stay right when the pool hands the same buffers to new tensors,
// when the buffers change, and when two tensors are slots of one buffer at different offsets
// (parameters in an optimiser's arena).
//
// Mistakes these catch (each made once by hand): a key without the binding's offset (the second
// slot would read the first one's values), a key without the buffers (any dispatch of a layout
// would reuse the first bind group), a cache that never hits (the count check).
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randTensor, read } from './helpers.js';

const times3 = (v: Float64Array) => v.map((x) => Math.fround(x * 3));

test('reused pool buffers hit the cache and give the new values; changed buffers give theirs', async () => {
  // Warm: compile the kernel and create the bind groups for one pair of pool buffers.
  E.tidy(() => void E.mul(randTensor([300], 1).t, 3));
  await E.sync();
  const before = E.memoryStats();
  for (let k = 0; k < 4; k++) {
    // Same size each time: the pool hands back the buffers just released, so the cache hits — and
    // the values must be this iteration's.
    const got = await E.tidy(async () => {
      const a = randTensor([300], 10 + k);
      return { y: await read(E.mul(a.t, 3)), want: times3(a.v) };
    });
    assertClose(got.y, got.want, 0, 0, `iteration ${k} on reused buffers`);
    await E.sync(); // released buffers return to the pool at a submit: the next iteration gets them
  }
  const after = E.memoryStats();
  assert.is(after.bindGroupHits - before.bindGroupHits, 4, 'every iteration found its bind group in the cache');
  assert.is(after.bindGroupsCreated - before.bindGroupsCreated, 0, 'and created none');
  // Live tensors at once: distinct buffers, each with its own bind group.
  const xs = [0, 1, 2].map((k) => randTensor([300], 20 + k));
  const ys = xs.map((x) => E.mul(x.t, 3));
  for (let k = 0; k < 3; k++) assertClose(await read(ys[k]), times3(xs[k].v), 0, 0, `live tensor ${k}`);
});

test('slots of one buffer at different offsets bind separately (parameters in a fused optimiser)', async () => {
  const a = randTensor([70], 31);
  const b = randTensor([70], 32);
  a.t.requiresGrad = b.t.requiresGrad = true;
  const opt = new E.SGD([a.t, b.t], { lr: 0.1 });
  assert.ok(opt.isFused, 'both parameters now live in one arena buffer');
  // Each product freed and synced before the next, so both write the same output buffer: only the
  // input's offset tells their bind groups apart.
  const timesThree = async (t: E.Tensor) => {
    const y = await E.tidy(async () => read(E.mul(t, 3)));
    await E.sync();
    return y;
  };
  for (let round = 0; round < 2; round++) {
    assertClose(await timesThree(a.t), times3(a.v), 0, 0, `slot a (round ${round})`);
    assertClose(await timesThree(b.t), times3(b.v), 0, 0, `slot b (round ${round})`);
  }
  opt.dispose();
});

test.run();
