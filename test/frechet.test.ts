// FD and KID (CPU, float64) against test/golden/frechet_golden.json (scipy.linalg.sqrtm and numpy,
// written by test/golden/frechet_golden.py), the eigendecomposition itself, and FD of a set with
// itself.
import { readFileSync } from 'node:fs';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose, randArray } from './helpers.js';

const golden = JSON.parse(readFileSync('test/golden/frechet_golden.json', 'utf8'));

test('featureStats: mean and covariance normalised by N, as published', () => {
  for (const c of golden.cases) {
    const s = E.featureStats(c.a);
    assertClose(s.mu, c.mu1, 1e-12, 1e-12, 'mu');
    assertClose(s.sigma, c.sigma1, 1e-10, 1e-12, 'sigma');
  }
});

test('frechetDistance matches scipy.linalg.sqrtm; a set against itself gives 0', () => {
  for (const c of golden.cases) {
    const a = E.featureStats(c.a);
    const b = E.featureStats(c.b);
    // Jacobi in f64 against scipy's Schur-based sqrtm: rel 1e-9.
    assertClose([E.frechetDistance(a.mu, a.sigma, b.mu, b.sigma)], [c.fd], 1e-9, 1e-9, 'FD');
    assert.ok(Math.abs(E.frechetDistance(a.mu, a.sigma, a.mu, a.sigma)) < 1e-9, 'FD(a, a) ≈ 0');
  }
});

test('kid matches the unbiased polynomial-kernel MMD (one subset of every vector)', () => {
  for (const c of golden.cases) {
    const m = c.m;
    const got = E.kid(c.a.slice(0, m), c.b.slice(0, m), { subsets: 1, subsetSize: m });
    assertClose([got], [c.kid], 1e-9, 1e-12, 'KID');
  }
});

test('symmetricEigen reconstructs a 33×33 symmetric matrix; sqrtSymmetric squares back', () => {
  const d = 33;
  const r = randArray(d * d, 4);
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) a[i * d + j] += r[i * d + k] * r[j * d + k] / d;
  const { values, vectors } = E.symmetricEigen(a, d);
  const back = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) back[i * d + j] += vectors![i * d + k] * values[k] * vectors![j * d + k];
  assertClose(back, a, 1e-10, 1e-12, 'V Λ Vᵀ');
  const root = E.sqrtSymmetric(a, d);
  const sq = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) sq[i * d + j] += root[i * d + k] * root[k * d + j];
  assertClose(sq, a, 1e-9, 1e-12, 'root²');
});

test.run();
