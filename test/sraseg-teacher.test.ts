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

/** Per-pixel affine logits w_c·v + b_c (4 classes): a teacher whose labels can be worked out by hand. */
class PixelNet extends E.Module {
  constructor(w: number[], b: number[]) {
    super();
    this.registerParameter('w', () => E.tensor(w, [1, 4, 1, 1]));
    this.registerParameter('b', () => E.tensor(b, [1, 4, 1, 1]));
  }

  forward(x: E.Tensor): E.Tensor {
    const [w, b] = this.parameters();
    return E.add(E.mul(E.expand(x, [x.shape[0], 4, x.shape[2], x.shape[3]]), w), b);
  }
}

// Mistakes this test catches (each made once by hand): pseudo-labels from the student's weights or
// from the teacher before its EMA update (the 1.05 and 1.15 pixels change class), the EMA weighting
// reversed (α ↔ 1 − α gives the student's weights), the largest-component filter skipped (stray
// class-3 and class-1 pixels stay).
test('EMA teacher pseudo-labels: the EMA-updated weights, argmax, largest component, worked out by hand', async () => {
  // Logits at pixel value v: class 0: 0, class 1: 4v − 2.5, class 2: 1.1 − 2v, class 3: 20v + b3.
  const w = [0, 4, -2, 20];
  const student = new PixelNet(w, [0, -2.5, 1.1, -22]);
  const teacher = new E.EmaTeacher(new PixelNet([0, 0, 0, 0], [0, 0, 0, 0]), student, { alpha: 0.75 });
  // The student moves to b3 = −14; after one update with α = 0.75 the teacher has
  // b3 = 0.75·(−22) + 0.25·(−14) = −20 (the student's own −14, or the old −22, would label otherwise).
  student.loadStateDict(new Map([['b', E.tensor([0, -2.5, 1.1, -14], [1, 4, 1, 1])]]), { strict: false });
  teacher.update(student);
  // With b3 = −20: v = 0.1 → class 2 (0.9 beats −2.1, −18); 0.9 → class 1 (1.1 vs −2); 1.05 → class 1
  // (1.7 vs 1; the student's b3 would give 7, class 3); 1.15 → class 3 (3 vs 2.1; the old b3 = −22
  // would give 1, class 1); 1.3 → class 3.
  const image = [
    [0.1, 0.1, 0.1, 0.1, 1.3],
    [0.1, 1.15, 1.15, 0.1, 0.1],
    [0.1, 1.15, 1.05, 0.1, 0.1],
    [0.9, 0.1, 0.1, 0.1, 1.3],
  ];
  // Argmax:            Largest 8-connected component per class kept:
  //   2 2 2 2 3          2 2 2 2 0   (class 3: the three-pixel blob beats the two single corners)
  //   2 3 3 2 2          2 3 3 2 2
  //   2 3 1 2 2          2 3 1 2 2   (class 1: two single pixels tie, the first in raster order stays)
  //   1 2 2 2 3          0 2 2 2 0
  const want = [2, 2, 2, 2, 0, 2, 3, 3, 2, 2, 2, 3, 1, 2, 2, 0, 2, 2, 2, 0];
  const x = E.tensor(image.flat(), [1, 1, 4, 5]);
  const got = await teacher.pseudoLabels(x);
  assert.equal(Array.from(await got.labels.data()), want);
  const hot = await got.oneHot.data();
  want.forEach((c, i) => {
    for (let k = 0; k < 4; k++) assert.is(hot[k * 20 + i], k === c ? 1 : 0);
  });
  for (const t of [x, got.labels, got.oneHot]) t.dispose();
  teacher.dispose();
  student.dispose();
});

test.run();
