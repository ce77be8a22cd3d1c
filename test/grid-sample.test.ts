// Bilinear grid sampling (align_corners false, zeros padding), affine_grid and reflection padding
// against float64 CPU references written here; the image gradient exactly (the ops are linear in the
// image, so the reference is the transposed sampling matrix) and by finite differences; the second
// derivative through gridSample's backward.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, gradCheck, randArray, randTensor, read } from './helpers.js';

/** The sampling matrix A (rows: output elements, columns: input elements) of grid_sample. */
function samplingMatrix(shape: number[], grid: Float64Array, ho: number, wo: number): Float64Array[] {
  const [n, c, h, w] = shape;
  const rows: Float64Array[] = [];
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < ho; y++)
        for (let x = 0; x < wo; x++) {
          const row = new Float64Array(n * c * h * w);
          const g = ((b * ho + y) * wo + x) * 2;
          const ix = ((grid[g] + 1) * w - 1) / 2;
          const iy = ((grid[g + 1] + 1) * h - 1) / 2;
          const x0 = Math.floor(ix);
          const y0 = Math.floor(iy);
          for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
            const px = x0 + dx;
            const py = y0 + dy;
            if (px < 0 || py < 0 || px >= w || py >= h) continue;
            const wt = (dx ? ix - x0 : 1 - (ix - x0)) * (dy ? iy - y0 : 1 - (iy - y0));
            row[((b * c + ch) * h + py) * w + px] += wt;
          }
          rows.push(row);
        }
  return rows;
}

const apply = (A: Float64Array[], v: ArrayLike<number>) => A.map((row) => row.reduce((s, a, j) => s + a * v[j], 0));
const applyT = (A: Float64Array[], v: ArrayLike<number>) => {
  const out = new Float64Array(A[0].length);
  A.forEach((row, i) => row.forEach((a, j) => (out[j] += a * v[i])));
  return out;
};

const X_SHAPE = [2, 2, 5, 7];
const GRID_SHAPE = [2, 4, 3, 2];

function gridValues(): Float64Array {
  // Beyond [−1, 1] on purpose: taps fall outside the image (zeros padding).
  return Float64Array.from(Float32Array.from(randArray(GRID_SHAPE.reduce((a, b) => a * b), 5, -1.25, 1.25)));
}

test('gridSample forward matches the f64 reference (2×2×5×7 image, 4×3 grid, points outside)', async () => {
  const { t: x, v } = randTensor(X_SHAPE, 1);
  const gv = gridValues();
  const grid = E.tensor(Float32Array.from(gv), GRID_SHAPE);
  const y = E.gridSample(x, grid);
  assert.equal([...y.shape], [2, 2, 4, 3]);
  // f32 bilinear weights: abs 2e-6 on O(1) values.
  assertClose(await read(y), apply(samplingMatrix(X_SHAPE, gv, 4, 3), v), 1e-5, 2e-6, 'gridSample');
  for (const t of [x, grid, y]) t.dispose();
});

test('gridSample image gradient is the transposed sampling matrix; grid is a constant', async () => {
  const { t: x } = randTensor(X_SHAPE, 2);
  x.requiresGrad = true;
  const gv = gridValues();
  const grid = E.tensor(Float32Array.from(gv), GRID_SHAPE);
  const { t: w, v: wv } = randTensor([2, 2, 4, 3], 3);
  const [dx] = E.grad(E.gridSample(x, grid), [x], { grad: w });
  // Scatter by atomic adds in f32: abs 2e-6.
  assertClose(await read(dx!), applyT(samplingMatrix(X_SHAPE, gv, 4, 3), wv), 1e-5, 2e-6, 'dx');
  for (const t of [x, grid, w, dx!]) t.dispose();
});

test('gridSample gradient by finite differences', async () => {
  const gv = gridValues();
  const grid = E.tensor(Float32Array.from(gv), GRID_SHAPE);
  // Linear in x, so central differences are exact up to f32 rounding (h = 1e-2: atol 2e-3).
  await gradCheck((x) => E.gridSample(x, grid), [{ shape: X_SHAPE }], { rtol: 1e-2, atol: 2e-3, what: 'gridSample' });
  grid.dispose();
});

test('second derivative through gridSample: d/dx Σ(∂L/∂x)² for L = Σ w·gridSample(x)²', async () => {
  const { t: x, v: xv } = randTensor(X_SHAPE, 4);
  x.requiresGrad = true;
  const gv = gridValues();
  const grid = E.tensor(Float32Array.from(gv), GRID_SHAPE);
  const { t: w, v: wv } = randTensor([2, 2, 4, 3], 6);
  const y = E.gridSample(x, grid);
  const L = E.sum(E.mul(E.mul(y, y), w));
  const [g] = E.grad(L, [x], { createGraph: true });
  const R = E.sum(E.mul(g!, g!));
  const [d2] = E.grad(R, [x]);
  // Reference: g = Aᵀ(2w ⊙ Ax); dR/dx = 2 Aᵀ(2w ⊙ A g).
  const A = samplingMatrix(X_SHAPE, gv, 4, 3);
  const gRef = applyT(A, apply(A, xv).map((a, i) => 2 * wv[i] * a));
  const d2Ref = applyT(A, apply(A, gRef).map((a, i) => 4 * wv[i] * a));
  assertClose(await read(g!), gRef, 1e-4, 1e-5, 'first derivative');
  assertClose(await read(d2!), d2Ref, 1e-4, 2e-5, 'second derivative');
  for (const t of [x, grid, w, y, L, g!, R, d2!]) t.dispose();
});

test('affineGrid matches affine_grid (align_corners false) at 3×5 outputs', async () => {
  const theta = [1.1, -0.3, 0.2, 0.25, 0.9, -0.15, -1, 0, 0.5, 0, 1, 0];
  const t = E.tensor(theta, [2, 2, 3]);
  const grid = E.affineGrid(t, [2, 1, 3, 5]);
  const want: number[] = [];
  for (let b = 0; b < 2; b++)
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 5; x++) {
        const xn = (2 * x + 1) / 5 - 1;
        const yn = (2 * y + 1) / 3 - 1;
        const m = theta.slice(b * 6, b * 6 + 6).map((v) => Math.fround(v));
        want.push(m[0] * xn + m[1] * yn + m[2], m[3] * xn + m[4] * yn + m[5]);
      }
  assertClose(await read(grid), want, 1e-6, 1e-6, 'affineGrid');
  t.dispose();
  grid.dispose();
});

test('reflectPad2d matches F.pad(mode="reflect"), its gradient folds the borders back', async () => {
  const shape = [2, 1, 4, 5];
  const pads: [number, number, number, number] = [4, 2, 3, 1]; // left, right, top, bottom
  const { t: x, v } = randTensor(shape, 8);
  const y = E.reflectPad2d(x, pads);
  assert.equal([...y.shape], [2, 1, 8, 11]);
  const mirror = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const want: number[] = [];
  for (let b = 0; b < 2; b++)
    for (let yy = 0; yy < 8; yy++) for (let xx = 0; xx < 11; xx++) want.push(v[(b * 4 + mirror(yy - 3, 4)) * 5 + mirror(xx - 4, 5)]);
  assertClose(await read(y), want, 0, 0, 'reflectPad2d (a copy: exact)');
  await gradCheck((t) => E.reflectPad2d(t, pads), [{ shape }], { rtol: 1e-2, atol: 2e-3, what: 'reflectPad2d' });
  assert.throws(() => E.reflectPad2d(x, [5, 0, 0, 0]), /reflectPad2d.*smaller than the image/);
  x.dispose();
  y.dispose();
});

test('gridSample names the op and shapes on bad input', () => {
  const x = E.zeros([1, 1, 3, 3]);
  const grid = E.zeros([2, 2, 2, 2]);
  assert.throws(() => E.gridSample(x, grid), /gridSample.*\[1, 1, 3, 3\]/);
  x.dispose();
  grid.dispose();
});

test.run();
