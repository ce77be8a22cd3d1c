// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
// Functions", 2012): the squared distance is separable, so one exact 1D lower-envelope-of-parabolas pass
// per axis gives the exact N-d result in O(N·ndim). Voxel spacing enters as the positions of the samples.

/** Shape and optional voxel spacing shared by the metrics; spacing defaults to 1 per axis (voxel units). */
export interface Grid {
  readonly shape: readonly number[];
  readonly spacing?: readonly number[];
}

export function gridSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function checkGrid(op: string, grid: Grid, ...arrays: ArrayLike<unknown>[]): void {
  const n = gridSize(grid.shape);
  if (!grid.shape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${op}: bad shape [${grid.shape.join(', ')}]`);
  for (const a of arrays) {
    if (a.length !== n) throw new Error(`${op}: array of length ${a.length} does not fit shape [${grid.shape.join(', ')}] (${n} voxels)`);
  }
  if (grid.spacing && (grid.spacing.length !== grid.shape.length || !grid.spacing.every((s) => s > 0))) {
    throw new Error(`${op}: spacing [${grid.spacing.join(', ')}] does not fit shape [${grid.shape.join(', ')}]`);
  }
}

/**
 * Squared Euclidean distance from every voxel to the nearest voxel where `features` is nonzero
 * (0 on the features themselves, Infinity everywhere when there is no feature at all).
 * scipy.ndimage.distance_transform_edt(~features, sampling=spacing) ** 2 computes the same thing.
 */
export function squaredDistanceTransform(features: ArrayLike<number | boolean>, grid: Grid): Float64Array {
  checkGrid('squaredDistanceTransform', grid, features);
  const { shape } = grid;
  const n = gridSize(shape);
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) dist[i] = features[i] ? 0 : Infinity;

  const longest = Math.max(...shape);
  const line = new Float64Array(longest);
  const scratch = envelopeScratch(longest);
  let inner = n;
  for (let axis = 0; axis < shape.length; axis++) {
    const len = shape[axis];
    inner /= len; // stride of this axis in C order
    const step = grid.spacing?.[axis] ?? 1;
    for (let outer = 0; outer < n; outer += len * inner) {
      for (let offset = outer; offset < outer + inner; offset++) {
        for (let q = 0; q < len; q++) line[q] = dist[offset + q * inner];
        lowerEnvelope1d(line, len, step, scratch);
        for (let q = 0; q < len; q++) dist[offset + q * inner] = line[q];
      }
    }
  }
  return dist;
}

interface EnvelopeScratch {
  /** Sample indices of the parabolas in the lower envelope. */
  vertex: Int32Array;
  /** boundary[k] .. boundary[k+1]: the positions where parabola k is the lowest. */
  boundary: Float64Array;
  input: Float64Array;
}

function envelopeScratch(n: number): EnvelopeScratch {
  return { vertex: new Int32Array(n), boundary: new Float64Array(n + 1), input: new Float64Array(n) };
}

/**
 * In place: f[q] ← min_p ((q−p)·step)² + f[p] over the first n samples. Samples at Infinity are not
 * parabolas at all, so they are left out of the envelope (this also keeps Infinity − Infinity away).
 */
function lowerEnvelope1d(f: Float64Array, n: number, step: number, s: EnvelopeScratch): void {
  const { vertex, boundary, input } = s;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q];
    input[q] = fq;
    if (fq === Infinity) continue;
    const xq = q * step;
    if (k < 0) {
      k = 0;
      vertex[0] = q;
      boundary[0] = -Infinity;
      boundary[1] = Infinity;
      continue;
    }
    // Drop envelope parabolas that q's parabola undercuts; boundary[0] = −∞ stops this at k = 0.
    let cross = intersection(vertex[k] * step, input[vertex[k]], xq, fq);
    while (cross <= boundary[k]) {
      k--;
      cross = intersection(vertex[k] * step, input[vertex[k]], xq, fq);
    }
    k++;
    vertex[k] = q;
    boundary[k] = cross;
    boundary[k + 1] = Infinity;
  }
  if (k < 0) return; // no finite sample: everything stays at Infinity
  let j = 0;
  for (let q = 0; q < n; q++) {
    const xq = q * step;
    while (boundary[j + 1] < xq) j++;
    const d = xq - vertex[j] * step;
    f[q] = d * d + input[vertex[j]];
  }
}

/** Position where the parabolas (x − xp)² + fp and (x − xq)² + fq meet (xp < xq). */
function intersection(xp: number, fp: number, xq: number, fq: number): number {
  return (fq + xq * xq - (fp + xp * xp)) / (2 * (xq - xp));
}
