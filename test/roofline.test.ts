// bench/roofline.js's counting: the FLOPs its cost rules (bench/roofline-costs.js) derive from real
// launches, against hand-worked counts of the same ops; and the dry run it relies on (queue and pool
// dry modes) leaves the engine working on real buffers afterwards.
//
// Mistakes these catch (each made once by hand): a conv rule using the destination's channels
// instead of the source's (or forgetting the taps), a weight-gradient rule counting the batch
// twice, matmul ignoring the batch in the grid, a placeholder buffer handed out after a dry run (the
// real result after it would be garbage or a validation error), a dry run that still dispatches.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { flopsOf, bytesOf } from '../bench/roofline-costs.js';
import { assertClose, randTensor, read } from './helpers.js';

/** FLOPs per op name of the launches `f` makes (and the launch records). */
function count(f: () => void): { flops: Map<string, number>; launches: E.DispatchRecord[] } {
  const flops = new Map<string, number>();
  const launches: E.DispatchRecord[] = [];
  const previous = E.observeDispatches((d) => {
    launches.push(d);
    flops.set(d.op, (flops.get(d.op) ?? 0) + flopsOf(d));
  });
  try {
    E.tidy(f);
  } finally {
    E.observeDispatches(previous);
  }
  return { flops, launches };
}

test('conv2d forward, input and weight gradients: FLOPs as worked by hand', () => {
  const [N, Ci, Co, H, W] = [2, 3, 5, 9, 7];
  const x = randTensor([N, Ci, H, W], 1).t;
  const w = randTensor([Co, Ci, 3, 3], 2).t;
  x.requiresGrad = w.requiresGrad = true;
  const { flops } = count(() => E.backward(E.sum(E.conv2d(x, w, null, { padding: 1 }))));
  const macs = N * Co * H * W * Ci * 9; // every conv of the three: the same multiply-adds at stride 1, same padding
  assert.is(flops.get('conv2d'), 2 * macs, 'forward');
  assert.is(flops.get('convInputGrad'), 2 * macs, 'input gradient');
  assert.is(flops.get('convWeightGrad'), 2 * macs, 'weight gradient');
});

test('matmul (batched) and attention: FLOPs as worked by hand', () => {
  const a = randTensor([3, 4, 6], 3).t;
  const b = randTensor([3, 6, 5], 4).t;
  assert.is(count(() => void E.matmul(a, b)).flops.get('matmul'), 2 * 3 * 4 * 5 * 6);
  const [B, Hd, T, D] = [2, 3, 10, 8];
  const [q, k, v] = [5, 6, 7].map((s) => randTensor([B, Hd, T, D], s).t);
  assert.is(count(() => void E.attention(q, k, v)).flops.get('attention.forward'), 4 * B * Hd * T * T * D);
});

test('bytes: every distinct operand once (an operand bound twice counts once)', () => {
  const x = randTensor([10, 20], 8).t;
  const { launches } = count(() => void E.add(x, x));
  assert.is(launches.length, 1);
  assert.is(bytesOf(launches[0]), 2 * 200 * 4, 'x once, the output once');
});

test('a dry run counts a UNet step without running it, and real work afterwards is right', async () => {
  const model = new E.UNet({ numClasses: 2 });
  const opt = new E.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  E.flush(); // the optimiser's arena copies, recorded before the dry run, are real work
  const before = E.memoryStats();
  const launches: E.DispatchRecord[] = [];
  await E.dryRun(
    () =>
      E.tidy(() => {
        const loss = E.supervisedSegLoss(model.forward(E.zeros([2, 1, 32, 32])), E.zeros([2, 32, 32], 'i32'));
        E.backward(loss);
        opt.step();
        opt.zeroGrad();
      }),
    (d) => launches.push(d),
  );
  const n = launches.length;
  for (const d of launches) assert.ok(Number.isFinite(flopsOf(d)) && Number.isFinite(bytesOf(d)), d.key);
  const after = E.memoryStats();
  assert.ok(n > 100, `launches counted: ${n}`);
  assert.is(after.submits, before.submits, 'nothing was submitted');
  // Real work after the dry run gets real buffers (the pool holds placeholders of these sizes now:
  // enough live tensors of the step's activation size to use up the real free buffers first).
  const xs = Array.from({ length: 24 }, (_, k) => randTensor([2, 16, 32, 32], 9 + k));
  const ys = xs.map((x) => E.mul(x.t, 2));
  for (let k = 0; k < xs.length; k++) assertClose(await read(ys[k]), xs[k].v.map((v) => 2 * v), 0, 0, `tensor ${k} after the dry run`);
  opt.dispose();
  model.dispose();
});

test.run();
