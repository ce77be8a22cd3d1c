import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randArray, read } from './helpers.js';

const small = { features: [2, 4, 4, 4, 4], numClasses: 3, seed: 11 };

async function readState(m: E.Module): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  for (const [k, t] of m.stateDict()) out.set(k, await read(t));
  return out;
}

test('EMA teacher: after k updates its whole state is the f64 EMA of the student states', async () => {
  const student = new E.UNet(small);
  const alpha = 0.9;
  const teacher = E.EmaTeacher.forUNet(student, { alpha });
  assert.ok(teacher.model.training, 'train mode by default, as published');
  assert.ok(teacher.model.parameters().every((p) => !p.requiresGrad));
  const ema = await readState(student);
  const counters = new Map([...student.stateDict()].filter(([, t]) => t.dtype !== 'f32').map(([k]) => [k, ema.get(k)!]));
  assert.equal(await readState(teacher.model), ema, 'starts as a copy');
  for (let step = 0; step < 3; step++) {
    // New parameter values, then a train-mode forward that moves the BatchNorm running statistics.
    const params = new Map(student.namedParameters().map(([k, p], i) => [k, E.tensor(Float32Array.from(randArray(p.size, 100 * step + i)), p.shape)]));
    student.loadStateDict(params, { strict: false });
    for (const t of params.values()) t.dispose();
    const x = E.tensor(Float32Array.from(randArray(2 * 16 * 16, 7 + step)), [2, 1, 16, 16]);
    E.noGrad(() => student.forward(x)).dispose();
    x.dispose();
    teacher.update(student);
    for (const [k, v] of await readState(student)) {
      if (counters.has(k)) continue;
      const e = ema.get(k)!;
      for (let i = 0; i < e.length; i++) e[i] = alpha * e[i] + (1 - alpha) * v[i];
    }
  }
  const got = await readState(teacher.model);
  let buffers = 0;
  for (const [k, want] of ema) {
    // Integer counters are not averaged: the teacher keeps the value it was copied with.
    assertClose(got.get(k)!, counters.get(k) ?? want, 1e-5, 1e-6, k); // three f32 EMA steps
    if (k.endsWith('running_mean') || k.endsWith('running_var')) buffers++;
  }
  assert.ok(buffers > 0, 'BatchNorm statistics are part of the averaged state');
  const evalTeacher = E.EmaTeacher.forUNet(student, { mode: 'eval' });
  assert.not.ok(evalTeacher.model.training);
  assert.equal(await readState(evalTeacher.model), await readState(student));
  assert.throws(() => E.EmaTeacher.forUNet(student, { alpha: 1.5 }), /EmaTeacher: alpha 1.5/);
  teacher.dispose();
  evalTeacher.dispose();
  student.dispose();
});

test('EMA teacher pseudo-labels: its own logits through the filter (eval mode is deterministic)', async () => {
  const student = new E.UNet(small);
  const teacher = E.EmaTeacher.forUNet(student, { mode: 'eval' });
  const x = E.tensor(Float32Array.from(randArray(2 * 16 * 16, 3)), [2, 1, 16, 16]);
  const got = await teacher.pseudoLabels(x);
  const logits = E.noGrad(() => teacher.model.forward(x));
  const want = await E.pseudoLabels(logits);
  assert.equal([...(await got.labels.data())], [...(await want.labels.data())]);
  assert.equal([...(await got.oneHot.data())], [...(await want.oneHot.data())]);
  for (const t of [x, logits, got.labels, got.oneHot, want.labels, want.oneHot]) t.dispose();
  teacher.dispose();
  student.dispose();
});

test.run();
