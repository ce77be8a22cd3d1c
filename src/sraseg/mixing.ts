// Copy-paste masks of BCP and SRA-Seg. One mask per iteration: M = 0 inside a box of 2/3 of each side
// at a uniform random position, 1 outside (BCP's hard mask); SRA-Seg smooths M into α ∈ [0, 1] so
// that mixed images and labels change gradually across the box edge (eq. 6–11). Masks are built on
// the CPU in float64 (a few thousand operations per slice) and uploaded as α [1, 1, H, W], which the
// fused `blend` kernel broadcasts over the batch.
import { blend, tensor, type Tensor } from '../engine/index.js';
import type { SeededRng } from '../data/rng.js';

/** Smoothing of the box mask: none (BCP), the paper's 3×3 average pool, or the code's 5×5 Gaussian / 7×7 box. */
export type BlendKernel = 'none' | 'avgpool3' | 'gauss5' | 'box7';

export const BLEND_KERNELS: readonly BlendKernel[] = ['none', 'avgpool3', 'gauss5', 'box7'];

export interface BoxPlacement {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * BCP's box: ⌊2/3·side⌋ (170 at 256, as the published `int(img_x * 2/3)`) at a position drawn
 * uniformly from [0, side − box) per axis (numpy's randint, so the box never touches the far edge
 * unless it fills the side). Rows are drawn before columns.
 */
export function drawBox(height: number, width: number, rng: SeededRng, fraction = 2 / 3): BoxPlacement {
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`drawBox: fraction ${fraction} must lie in (0, 1]`);
  const boxH = Math.floor(height * fraction);
  const boxW = Math.floor(width * fraction);
  const top = height > boxH ? rng.int(0, height - boxH) : 0;
  const left = width > boxW ? rng.int(0, width - boxW) : 0;
  return { top, left, height: boxH, width: boxW };
}

/** The hard mask M (row-major H×W): 0 inside the box, 1 outside. */
export function boxMask(height: number, width: number, box: BoxPlacement): Float64Array {
  const m = new Float64Array(height * width).fill(1);
  for (let y = box.top; y < box.top + box.height; y++) m.fill(0, y * width + box.left, y * width + box.left + box.width);
  return m;
}

/** Separable weights of each smoothing kernel (outer product gives the 2-D kernel, summing to 1). */
function kernel1d(kind: Exclude<BlendKernel, 'none'>): number[] {
  if (kind === 'avgpool3') return [1 / 3, 1 / 3, 1 / 3];
  if (kind === 'box7') return new Array(7).fill(1 / 7);
  // 5×5 Gaussian, σ = 1, normalised: exp(−(x² + y²)/2) = exp(−x²/2)·exp(−y²/2).
  const g = [-2, -1, 0, 1, 2].map((x) => Math.exp(-(x * x) / 2));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / s);
}

export interface SmoothOptions {
  /**
   * Pad with zeros as the published code does (PyTorch's avg_pool2d / conv2d padding): the image
   * border is then blended too, though the hard mask there is 1. Default false: replicate the edge,
   * so a constant mask stays constant and only the box edge is softened.
   */
  zeroPad?: boolean;
}

/** The mask smoothed by `kind` (same size). Separable: rows then columns. */
export function smoothMask(mask: Float64Array, height: number, width: number, kind: BlendKernel, options: SmoothOptions = {}): Float64Array {
  if (mask.length !== height * width) throw new Error(`smoothMask: ${mask.length} values do not fill ${height}×${width}`);
  if (kind === 'none') return Float64Array.from(mask);
  if (!BLEND_KERNELS.includes(kind)) throw new Error(`smoothMask: unknown kernel '${kind}' (expected ${BLEND_KERNELS.join(', ')})`);
  const w = kernel1d(kind);
  const r = (w.length - 1) / 2;
  const zeroPad = options.zeroPad ?? false;
  // Reads outside the image: zero, or the nearest edge value.
  const pass = (src: Float64Array, horizontal: boolean): Float64Array => {
    const dst = new Float64Array(src.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let s = 0;
        for (let k = -r; k <= r; k++) {
          let yy = horizontal ? y : y + k;
          let xx = horizontal ? x + k : x;
          const outside = yy < 0 || yy >= height || xx < 0 || xx >= width;
          if (outside && zeroPad) continue;
          yy = Math.min(height - 1, Math.max(0, yy));
          xx = Math.min(width - 1, Math.max(0, xx));
          s += w[k + r] * src[yy * width + xx];
        }
        dst[y * width + x] = s;
      }
    }
    return dst;
  };
  return pass(pass(mask, true), false);
}

export interface MixingMaskOptions extends SmoothOptions {
  /** Smoothing of the box edge (default 'none': BCP's hard mask). */
  blend?: BlendKernel;
  /** Box side as a fraction of the image side (default 2/3). */
  fraction?: number;
}

export interface MixingMask {
  /** f32 [1, 1, H, W]: the weight of the first image of each mixed pair (1 outside the box). */
  alpha: Tensor;
  box: BoxPlacement;
}

/** Draw one box, smooth it and upload α [1, 1, H, W] for `blend`. */
export function mixingMask(height: number, width: number, rng: SeededRng, options: MixingMaskOptions = {}): MixingMask {
  const box = drawBox(height, width, rng, options.fraction);
  const alpha = smoothMask(boxMask(height, width, box), height, width, options.blend ?? 'none', options);
  return { alpha: tensor(Float32Array.from(alpha), [1, 1, height, width]), box };
}

export interface ImageAndLabel {
  /** f32 [B, 1, H, W] (or any channel count). */
  image: Tensor;
  /** f32 [B, C, H, W] one-hot or soft labels. */
  label: Tensor;
}

/**
 * One mixed pair of eq. 10–11: first·α + second·(1 − α) for the images and, with the same α, for
 * their labels (the soft labels L̃). BCP's hard mixing is the same with an unsmoothed α.
 */
export function mixPair(first: ImageAndLabel, second: ImageAndLabel, alpha: Tensor): ImageAndLabel {
  return { image: blend(first.image, second.image, alpha), label: blend(first.label, second.label, alpha) };
}
