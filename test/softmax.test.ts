import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randTensor, read } from './helpers.js';

/** f64 reference: (log-)softmax of `v` (shape) along `axis`. */
function refSoftmax(v: Float64Array, shape: number[], axis: number, log: boolean): Float64Array {
  const C = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = v.length / (C * inner);
  const y = new Float64Array(v.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (c: number) => o * C * inner + c * inner + i;
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, v[at(c)]);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(v[at(c)] - m);
      for (let c = 0; c < C; c++) y[at(c)] = log ? v[at(c)] - m - Math.log(s) : Math.exp(v[at(c)] - m) / s;
    }
  }
  return y;
}

// Shapes cover: the last axis, the class axis of NCHW (strided rows), size-1 axes, a row long
// enough for the workgroup-per-row kernel (300 > 128), and one long enough for the chunked fallback.
const cases: [number[], number][] = [
  [[3, 7], -1],
  [[2, 5, 3, 7], 1],
  [[1, 1, 4], 1],
  [[2, 300], 1],
  [[3, 300, 2], 1],
  [[2, 9000], -1],
];

for (const [shape, axis] of cases) {
  for (const log of [false, true]) {
    const name = `${log ? 'logSoftmax' : 'softmax'} ${JSON.stringify(shape)} axis ${axis}`;
    test(`${name} matches the f64 reference`, async () => {
      // Large offsets check the max subtraction: exp(60) alone would be fine, exp(90) is inf in f32.
      const { t, v } = randTensor(shape, 5, 80, 95);
      const y = log ? E.logSoftmax(t, axis) : E.softmax(t, axis);
      const a = axis < 0 ? axis + shape.length : axis;
      // f32 exp/log on inputs near 90: absolute error ~1e-5 on logs, relative ~1e-5 on probabilities.
      assertClose(await read(y), refSoftmax(v, shape, a, log), 2e-5, log ? 5e-5 : 1e-7, name);
      t.dispose();
      y.dispose();
    });
  }
}

test('softmax and logSoftmax gradients by finite differences (last axis and NCHW class axis)', async () => {
  await gradCheck((x) => E.softmax(x, -1), [{ shape: [3, 4], lo: -2, hi: 2 }], { what: 'softmax' });
  await gradCheck((x) => E.softmax(x, 1), [{ shape: [2, 3, 2, 2], lo: -2, hi: 2 }], { what: 'softmax axis 1' });
  await gradCheck((x) => E.logSoftmax(x, 1), [{ shape: [2, 3, 2, 2], lo: -2, hi: 2 }], { what: 'logSoftmax axis 1' });
  await gradCheck((x) => E.logSoftmax(x, 0), [{ shape: [150, 2], lo: -2, hi: 2 }], { what: 'logSoftmax tree' });
});

test('softmax second derivative (createGraph): Hessian·u against differences of the gradient', async () => {
  // L(x) = Σ w·softmax(x); H·u = d/dx Σ u·∇L, compared with (∇L(x + εu) − ∇L(x − εu)) / 2ε.
  const shape = [2, 3];
  const w = E.tensor([0.3, -1.2, 0.7, 2.0, -0.4, 0.1], shape);
  const u = [0.5, -0.3, 0.9, -0.7, 0.2, 0.4];
  const x0 = [0.1, -0.5, 0.8, 0.3, 0.6, -0.9];
  const gradAt = async (xv: number[]) => {
    const x = E.tensor(xv, shape);
    x.requiresGrad = true;
    const [g] = E.grad(E.sum(E.mul(E.softmax(x, 1), w)), [x]);
    return read(g!);
  };
  const eps = 1e-2;
  const plus = await gradAt(x0.map((v, i) => v + eps * u[i]));
  const minus = await gradAt(x0.map((v, i) => v - eps * u[i]));
  const numeric = plus.map((p, i) => (p - minus[i]) / (2 * eps));
  const x = E.tensor(x0, shape);
  x.requiresGrad = true;
  const [g] = E.grad(E.sum(E.mul(E.softmax(x, 1), w)), [x], { createGraph: true });
  const [hu] = E.grad(E.sum(E.mul(g!, E.tensor(u, shape))), [x]);
  // f32 central differences with ε = 1e-2: error ~ε²·|third derivative| plus rounding ~1e-5/ε.
  assertClose(await read(hu!), numeric, 1e-2, 2e-3, 'softmax Hessian·u');
});

test('softmax rejects a bad axis, naming the op and shape', () => {
  const x = E.zeros([2, 3]);
  assert.throws(() => E.softmax(x, 2), /softmax: axis 2 is out of range for rank 2/);
  x.dispose();
});

test.run();
