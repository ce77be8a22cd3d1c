// Fréchet distance and kernel inception distance between two sets of feature vectors (CPU, float64),
// as in metrics/frechet_inception_distance.py and kernel_inception_distance.py of
// NVlabs/stylegan2-ada-pytorch:
//   FD  = |μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½), with the covariance normalised by N (as published);
//   KID = the unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over
//         random subsets.
// tr (Σ₁Σ₂)^½ is computed as Σ √λ of the symmetric matrix Σ₁^½ Σ₂ Σ₁^½ (same eigenvalues as Σ₁Σ₂),
// both from cyclic Jacobi eigendecompositions: no complex arithmetic, fine up to d ≈ 1024.
import { SeededRng } from '../data/rng.js';

export interface FeatureStats {
  mu: Float64Array;
  /** d × d, row-major. */
  sigma: Float64Array;
  count: number;
}

export function featureStats(features: ArrayLike<number>[]): FeatureStats {
  const n = features.length;
  if (!n) throw new Error('featureStats: no feature vectors');
  const d = features[0].length;
  const mu = new Float64Array(d);
  for (const f of features) {
    if (f.length !== d) throw new Error(`featureStats: vectors of length ${d} and ${f.length}`);
    for (let i = 0; i < d; i++) mu[i] += f[i] / n;
  }
  const sigma = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (const f of features) {
    for (let i = 0; i < d; i++) c[i] = f[i] - mu[i];
    for (let i = 0; i < d; i++) {
      const ci = c[i] / n;
      if (ci === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) sigma[row + j] += ci * c[j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) sigma[i * d + j] = sigma[j * d + i];
  return { mu, sigma, count: n };
}

/**
 * Eigenvalues (and, if asked, eigenvectors as the columns of a row-major d × d matrix) of a
 * symmetric matrix, by cyclic Jacobi rotations. The input is not modified.
 */
export function symmetricEigen(a: Float64Array, d: number, vectors = true): { values: Float64Array; vectors: Float64Array | null } {
  const A = Float64Array.from(a);
  const V = vectors ? identity(d) : null;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += A[i] * A[i];
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += A[p * d + q] * A[p * d + q];
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q];
        if (apq === 0) continue;
        // The rotation that zeroes A[p][q]: tan of the angle, taking the smaller root for stability.
        const theta = (A[q * d + q] - A[p * d + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = A[k * d + p];
          const akq = A[k * d + q];
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = A[p * d + k];
          const aqk = A[q * d + k];
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        if (V) {
          for (let k = 0; k < d; k++) {
            const vkp = V[k * d + p];
            const vkq = V[k * d + q];
            V[k * d + p] = c * vkp - s * vkq;
            V[k * d + q] = s * vkp + c * vkq;
          }
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = A[i * d + i];
  return { values, vectors: V };
}

function identity(d: number): Float64Array {
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) m[i * d + i] = 1;
  return m;
}

/** Row-major d × d product. */
function matmul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}

/** The PSD square root V·diag(√max(λ, 0))·Vᵀ of a symmetric matrix. */
export function sqrtSymmetric(a: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, d, true);
  const V = vectors!;
  const scaled = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) scaled[i * d + j] = V[i * d + j] * Math.sqrt(Math.max(values[j], 0));
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += scaled[i * d + k] * V[j * d + k];
      out[i * d + j] = s;
      out[j * d + i] = s;
    }
  return out;
}

export function frechetDistance(mu1: ArrayLike<number>, sigma1: Float64Array, mu2: ArrayLike<number>, sigma2: Float64Array): number {
  const d = mu1.length;
  if (mu2.length !== d || sigma1.length !== d * d || sigma2.length !== d * d) {
    throw new Error(`frechetDistance: means of ${d} and ${mu2.length}, covariances of ${sigma1.length} and ${sigma2.length} entries`);
  }
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < d; i++) {
    meanTerm += (mu1[i] - mu2[i]) ** 2;
    traces += sigma1[i * d + i] + sigma2[i * d + i];
  }
  const root1 = sqrtSymmetric(sigma1, d);
  const middle = matmul(matmul(root1, sigma2, d), root1, d);
  // Symmetrise away rounding so Jacobi sees an exactly symmetric matrix.
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) middle[i * d + j] = middle[j * d + i] = (middle[i * d + j] + middle[j * d + i]) / 2;
  const { values } = symmetricEigen(middle, d, false);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(v, 0));
  return meanTerm + traces - 2 * traceRoot;
}

export interface KidOptions {
  /** Number of random subsets (published 100). */
  subsets?: number;
  /** Largest subset size (published 1000); capped by the smaller set. */
  subsetSize?: number;
  seed?: number;
}

/** KID between feature sets a (e.g. synthetic) and b (real), as published. */
export function kid(a: ArrayLike<number>[], b: ArrayLike<number>[], options: KidOptions = {}): number {
  const d = a[0]?.length ?? 0;
  if (!d || b[0]?.length !== d) throw new Error(`kid: feature sets of dimension ${d} and ${b[0]?.length}`);
  const subsets = options.subsets ?? 100;
  const m = Math.min(a.length, b.length, options.subsetSize ?? 1000);
  if (m < 2) throw new Error(`kid: needs at least 2 vectors per set, got ${a.length} and ${b.length}`);
  const rng = new SeededRng(options.seed ?? 0);
  const kernel = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += x[i] * y[i];
    return (s / d + 1) ** 3;
  };
  let total = 0;
  for (let s = 0; s < subsets; s++) {
    const x = choose(a, m, rng);
    const y = choose(b, m, rng);
    let within = 0; // off-diagonal sums of k(x, x) + k(y, y)
    let across = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        if (i !== j) within += kernel(x[i], x[j]) + kernel(y[i], y[j]);
        across += kernel(x[i], y[j]);
      }
    }
    total += within / (m - 1) - (across * 2) / m;
  }
  return total / subsets / m;
}

/** m distinct elements, uniformly (partial Fisher–Yates). */
function choose<T>(items: T[], m: number, rng: SeededRng): T[] {
  const idx = Array.from(items, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = rng.int(i, idx.length);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, m).map((i) => items[i]);
}
