import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randTensor, read } from './helpers.js';

/** f64 reference: x (row-major, `shape`) with `axes` reversed. */
function flipRef(x: Float64Array, shape: number[], axes: number[]): Float64Array {
  const rank = shape.length;
  const flipped = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let src = 0;
    for (let d = 0; d < rank; d++) {
      const c = Math.floor(i / strides[d]) % shape[d];
      src += (flipped.has(d) ? shape[d] - 1 - c : c) * strides[d];
    }
    y[i] = x[src];
  }
  return y;
}

test('flip reverses the named axes (any subset, negative axes, size-1 dims)', async () => {
  const shape = [2, 3, 1, 5];
  const { t, v } = randTensor(shape, 3);
  for (const axes of [[3], [-1, -2], [0, 2], [1, 3], [0, 1, 2, 3], []]) {
    // A pure permutation of values: exact.
    assertClose(await read(E.flip(t, axes)), flipRef(v, shape, axes), 0, 0, `flip ${JSON.stringify(axes)}`);
  }
  t.dispose();
});

test('flip works on i32 and its gradient is the same flip', async () => {
  const ints = E.tensor(Int32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], 'i32');
  const flipped = E.flip(ints, [0, 1]);
  assert.equal(Array.from(await flipped.data()), [6, 5, 4, 3, 2, 1]);
  ints.dispose();
  flipped.dispose();
  // Linear op: the finite difference is exact up to f32 rounding of the loss.
  await gradCheck((x) => E.flip(x, [1, -1]), [{ shape: [2, 3, 4] }], { rtol: 1e-3, atol: 1e-3, what: 'flip' });
});

test('flip rejects repeated axes, naming the op', () => {
  const x = E.zeros([2, 3]);
  assert.throws(() => E.flip(x, [1, -1]), /flip/);
  x.dispose();
});

test.run();
