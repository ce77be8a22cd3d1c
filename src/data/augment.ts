// The published training augmentation (SSL4MIS / BCP RandomGenerator), built as 3×3 affine maps
// (gl-matrix mat3, stored in Float64Array so coordinates keep double precision like scipy) from
// output pixel (row, col) to input pixel, applied with nearest sampling to image and label alike:
//   with p = 0.5: np.rot90(x, k), k ∈ 0..3, then np.flip on a random axis;
//   else with p = 0.5: scipy.ndimage.rotate(x, angle, order=0, reshape=False), angle ∈ [−20, 20);
//   else nothing. Then every sample is zoomed (nearest) to the training size.
// Everything here is synchronous and pure given the generator, so it can move into a worker thread.
import { mat3 } from 'gl-matrix';
import type { SliceSample } from './dataset.js';
import type { SeededRng } from './rng.js';
import { zoomNearest, type PixelArray } from './zoom.js';

export type Augmentation = { kind: 'none' } | { kind: 'rot90-flip'; k: number; axis: 0 | 1 } | { kind: 'rotate'; degrees: number };

/**
 * Maps output coordinates to input coordinates: with m = matrix (column-major, gl-matrix layout)
 * and output pixel (r, c): input row = m[0]·r + m[3]·c + m[6], input col = m[1]·r + m[4]·c + m[7].
 */
export interface AffineWarp {
  matrix: Float64Array;
  outHeight: number;
  outWidth: number;
}

const newMat3 = () => mat3.identity(new Float64Array(9)) as Float64Array;

/** Draws an augmentation with the published probabilities and draw order. */
export function drawAugmentation(rng: SeededRng): Augmentation {
  if (rng.next() > 0.5) {
    const k = rng.int(0, 4);
    const axis = rng.int(0, 2) as 0 | 1;
    return { kind: 'rot90-flip', k, axis };
  }
  if (rng.next() > 0.5) return { kind: 'rotate', degrees: rng.int(-20, 20) };
  return { kind: 'none' };
}

/** np.rot90(x, k) then np.flip(x, axis) on a [height, width] array. */
export function rot90FlipWarp(k: number, axis: 0 | 1, height: number, width: number): AffineWarp {
  const m = newMat3();
  let h = height;
  let w = width;
  // One counter-clockwise quarter turn of an h×w array gives w×h; output (i, j) reads (j, w−1−i).
  // Output→input maps compose left to right: M = A(a0)·A(a1)·…, applied to the last output first.
  const step = new Float64Array(9);
  for (let t = 0; t < ((k % 4) + 4) % 4; t++) {
    mat3.set(step, 0, -1, 0, 1, 0, 0, 0, w - 1, 1);
    mat3.multiply(m, m, step);
    [h, w] = [w, h];
  }
  if (axis === 0) mat3.set(step, -1, 0, 0, 0, 1, 0, h - 1, 0, 1);
  else mat3.set(step, 1, 0, 0, 0, -1, 0, 0, w - 1, 1);
  mat3.multiply(m, m, step);
  return { matrix: m, outHeight: h, outWidth: w };
}

/** cos and sin of an angle in degrees, exact at multiples of 90 (as scipy.special.cosdg/sindg). */
function cosSinDegrees(degrees: number): [number, number] {
  const d = ((degrees % 360) + 360) % 360;
  if (d === 0) return [1, 0];
  if (d === 90) return [0, 1];
  if (d === 180) return [-1, 0];
  if (d === 270) return [0, -1];
  const rad = (degrees * Math.PI) / 180;
  return [Math.cos(rad), Math.sin(rad)];
}

/** scipy.ndimage.rotate(x, degrees, reshape=False): rotation about the array centre, same size. */
export function rotationWarp(degrees: number, height: number, width: number): AffineWarp {
  const [c, s] = cosSinDegrees(degrees);
  // scipy: input = R·output + offset with R = [[c, s], [−s, c]] on (row, col) and
  // offset = centre − R·centre, centre = ((h−1)/2, (w−1)/2); same arithmetic order here.
  const cr = (height - 1) / 2;
  const cc = (width - 1) / 2;
  const offRow = cr - (c * cr + s * cc);
  const offCol = cc - (-s * cr + c * cc);
  const m = new Float64Array(9);
  mat3.set(m, c, -s, 0, s, c, 0, offRow, offCol, 1);
  return { matrix: m, outHeight: height, outWidth: width };
}

export function augmentationWarp(aug: Augmentation, height: number, width: number): AffineWarp {
  switch (aug.kind) {
    case 'none':
      return { matrix: newMat3(), outHeight: height, outWidth: width };
    case 'rot90-flip':
      return rot90FlipWarp(aug.k, aug.axis, height, width);
    case 'rotate':
      return rotationWarp(aug.degrees, height, width);
  }
}

/**
 * Nearest-neighbour warp; pixels that map outside [0, h−1]×[0, w−1] become 0 (scipy's
 * mode='constant' does not extend the input by half a pixel, unlike rounding first would).
 */
export function warpNearest<T extends PixelArray>(src: T, height: number, width: number, warp: AffineWarp): T {
  if (src.length !== height * width) throw new RangeError(`warpNearest: array has ${src.length} values, [${height}, ${width}] needs ${height * width}`);
  const m = warp.matrix;
  const out = new (src.constructor as new (n: number) => T)(warp.outHeight * warp.outWidth);
  for (let i = 0; i < warp.outHeight; i++) {
    for (let j = 0; j < warp.outWidth; j++) {
      const r = m[0] * i + m[3] * j + m[6];
      const c = m[1] * i + m[4] * j + m[7];
      if (r >= 0 && r <= height - 1 && c >= 0 && c <= width - 1) {
        out[i * warp.outWidth + j] = src[Math.floor(r + 0.5) * width + Math.floor(c + 0.5)];
      }
    }
  }
  return out;
}

/** Applies one augmentation to image and label with the same map. */
export function applyAugmentation(sample: SliceSample, aug: Augmentation): SliceSample {
  if (aug.kind === 'none') return sample;
  const warp = augmentationWarp(aug, sample.height, sample.width);
  return {
    name: sample.name,
    height: warp.outHeight,
    width: warp.outWidth,
    image: warpNearest(sample.image, sample.height, sample.width, warp),
    label: warpNearest(sample.label, sample.height, sample.width, warp),
  };
}

/** The whole per-sample training pipeline: random augmentation, then nearest zoom to size×size. */
export function augmentAndResize(sample: SliceSample, rng: SeededRng, height = 256, width = height): SliceSample {
  const a = applyAugmentation(sample, drawAugmentation(rng));
  return {
    name: a.name,
    height,
    width,
    image: zoomNearest(a.image, a.height, a.width, height, width),
    label: zoomNearest(a.label, a.height, a.width, height, width),
  };
}
