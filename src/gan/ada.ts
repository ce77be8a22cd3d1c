// StyleGAN2-ADA's augmentation pipeline (the 'bgc' set: blits, general geometry, colour), following
// training/augment.py of NVlabs/stylegan2-ada-pytorch. Per-sample parameters are drawn on the CPU
// from a SeededRng (reproducible by seed; `state()` checkpoints it), turned into matrices by
// ada-matrices.ts, and applied on the GPU with differentiable ops, so gradients (and R1's second
// derivatives) reach the un-augmented images:
//   geometry: reflect pad → 2× upsample (sym6 wavelet) → affine grid + bilinear grid sample →
//             2× downsample and crop, all samples in one pass, as published;
//   colour:   per-sample 4×4 matrix; 1-channel images use its luma-averaged scale and offset.
// Two deliberate differences: a batch whose sampled transforms are all the identity skips that path
// (the published code runs the filters whenever a transform is enabled), so p = 0 is exactly the
// identity and costs nothing; and a batch of pure blits (x-flips, quarter turns, integer shifts) is
// copied pixel for pixel (reflect pad + grid sample at pixel centres) instead of being filtered: the
// sym6 wavelet is not symmetric, so the published path blurs flips and quarter turns by ~1%.
import { add, affineGrid, downsample2d, gridSample, keep, matmul, mul, reflectPad2d, reshape, setupFilter, ShapeError, tensor, type Tensor, tidy, upsample2d } from '../engine/index.js';
import { SeededRng, type RngState } from '../data/rng.js';
import {
  at,
  colorMatrix,
  geometricInverse,
  geometricPlan,


  isBlit,
  isIdentity,
  lumaAffine,
  type ColorParams,
  type GeometricParams,
  type GeometricPlan,
  type Mat4,
} from './ada-matrices.js';

/** The orthogonal low-pass filter of the geometric path (sym6 wavelet, 12 taps). */
const SYM6 = [
  0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633, 0.4910559419267466, 0.787641141030194,
  0.3379294217276218, -0.07263752278646252, -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
];
/** Filter margin in input pixels (a quarter of the taps, as published). */
const FILTER_PAD = SYM6.length / 4;

/** Probability multipliers (each times p); 0 disables a transform. */
export interface AugmentProbabilities {
  xflip: number;
  rotate90: number;
  xint: number;
  scale: number;
  rotate: number;
  aniso: number;
  xfrac: number;
  brightness: number;
  contrast: number;
  lumaflip: number;
  hue: number;
  saturation: number;
}

/** Ranges of the random parameters (published defaults in AUGMENT_RANGES). */
export interface AugmentRanges {
  xintMax: number;
  scaleStd: number;
  rotateMax: number;
  anisoStd: number;
  xfracStd: number;
  brightnessStd: number;
  contrastStd: number;
  hueMax: number;
  saturationStd: number;
}

/** The 'bgc' configuration of the paper: every blit, geometric and colour transform at multiplier 1. */
export const BGC: Readonly<AugmentProbabilities> = Object.freeze({
  xflip: 1, rotate90: 1, xint: 1, scale: 1, rotate: 1, aniso: 1, xfrac: 1,
  brightness: 1, contrast: 1, lumaflip: 1, hue: 1, saturation: 1,
});

export const AUGMENT_RANGES: Readonly<AugmentRanges> = Object.freeze({
  xintMax: 0.125, scaleStd: 0.2, rotateMax: 1, anisoStd: 0.2, xfracStd: 0.125,
  brightnessStd: 0.2, contrastStd: 0.5, hueMax: 1, saturationStd: 1,
});

export interface AugmentParams {
  geometry: GeometricParams;
  color: ColorParams;
}

export interface AugmentPipeOptions {
  probabilities?: Partial<AugmentProbabilities>;
  ranges?: Partial<AugmentRanges>;
  /** Seed of the parameter stream (default 0). */
  seed?: number;
  /** Initial augmentation probability (default 0, as ADA starts). */
  p?: number;
}

export interface AugmentPipeState {
  p: number;
  rng: RngState;
}

export class AugmentPipe {
  /** Overall probability multiplier, adjusted by AdaController. */
  p: number;
  readonly probabilities: AugmentProbabilities;
  readonly ranges: AugmentRanges;
  private rng: SeededRng;
  private filter: Tensor | null = null;

  constructor(options: AugmentPipeOptions = {}) {
    this.probabilities = { ...BGC, ...options.probabilities };
    this.ranges = { ...AUGMENT_RANGES, ...options.ranges };
    this.rng = new SeededRng(options.seed ?? 0);
    this.p = options.p ?? 0;
  }

  /** Draw one set of parameters per sample (published order; a transform's value, then its gate). */
  sampleParams(batch: number, channels: number): AugmentParams[] {
    const m = this.probabilities;
    const r = this.ranges;
    const rng = this.rng;
    // A transform with multiplier 0 draws nothing, so enabling one does not shift the others' stream.
    const gated = <T>(multiplier: number, identity: T, draw: () => T, probability = multiplier * this.p): T => {
      if (multiplier <= 0) return identity;
      const value = draw();
      return rng.next() < probability ? value : identity;
    };
    const pRot = 1 - Math.sqrt(Math.min(Math.max(1 - m.rotate * this.p, 0), 1)); // P(pre or post) = rotate·p
    const angle = () => (rng.next() * 2 - 1) * Math.PI * r.rotateMax;
    const rgb = channels > 1;
    return Array.from({ length: batch }, () => {
      const geometry: GeometricParams = {
        xflip: gated(m.xflip, 0, () => Math.floor(rng.next() * 2)),
        rotate90: gated(m.rotate90, 0, () => Math.floor(rng.next() * 4)),
        xint: gated(m.xint, [0, 0] as [number, number], () => [(rng.next() * 2 - 1) * r.xintMax, (rng.next() * 2 - 1) * r.xintMax]),
        scale: gated(m.scale, 1, () => 2 ** (rng.normal() * r.scaleStd)),
        preRotate: gated(m.rotate, 0, angle, pRot),
        aniso: gated(m.aniso, 1, () => 2 ** (rng.normal() * r.anisoStd)),
        postRotate: gated(m.rotate, 0, angle, pRot),
        xfrac: gated(m.xfrac, [0, 0] as [number, number], () => [rng.normal() * r.xfracStd, rng.normal() * r.xfracStd]),
      };
      const color: ColorParams = {
        brightness: gated(m.brightness, 0, () => rng.normal() * r.brightnessStd),
        contrast: gated(m.contrast, 1, () => 2 ** (rng.normal() * r.contrastStd)),
        lumaflip: gated(m.lumaflip, 0, () => Math.floor(rng.next() * 2)),
        hue: rgb ? gated(m.hue, 0, () => (rng.next() * 2 - 1) * Math.PI * r.hueMax) : 0,
        saturation: rgb ? gated(m.saturation, 1, () => 2 ** (rng.normal() * r.saturationStd)) : 1,
      };
      return { geometry, color };
    });
  }

  /** Augment images [N, C, H, W] (C = 1 or 3) with freshly drawn parameters. */
  forward(images: Tensor): Tensor {
    checkImages(images);
    return this.apply(images, this.sampleParams(images.shape[0], images.shape[1]));
  }

  /** Augment with explicit parameters (one per sample); differentiable with respect to images. */
  apply(images: Tensor, params: AugmentParams[]): Tensor {
    checkImages(images);
    const [n, c, h, w] = images.shape;
    if (params.length !== n) throw new ShapeError('AugmentPipe', `${params.length} parameter sets for a batch of ${n}`, [images.shape]);
    return tidy(() => {
      let y = images;
      const gInv = params.map((s) => geometricInverse(s.geometry, w, h));
      if (!gInv.every(isIdentity)) y = this.geometric(y, gInv);
      const colors = params.map((s) => colorMatrix(s.color, c));
      if (!colors.every(isIdentity)) y = applyColor(y, colors);
      return y === images ? images.share() : y;
    });
  }

  private geometric(x: Tensor, gInv: ReturnType<typeof geometricInverse>[]): Tensor {
    const [n, c, h, w] = x.shape;
    this.filter ??= keep(setupFilter(SYM6)); // owned by the pipe, not by the tidy scope around us
    if (gInv.every(isBlit)) {
      const plan = geometricPlan(gInv, w, h, 0, 1);
      return gridSample(reflectPad2d(x, plan.pad), this.grid(plan, n, c));
    }
    const plan = geometricPlan(gInv, w, h, FILTER_PAD);
    const padded = reflectPad2d(x, plan.pad);
    const up = upsample2d(padded, this.filter, { up: 2 });
    const sampled = gridSample(up, this.grid(plan, n, c));
    return downsample2d(sampled, this.filter, { down: 2, padding: -FILTER_PAD * 2, flipFilter: true });
  }

  private grid(plan: GeometricPlan, n: number, c: number): Tensor {
    const theta = tensor(Float32Array.from(plan.theta.flatMap((t) => [...t])), [n, 2, 3]);
    return affineGrid(theta, [n, c, ...plan.sampleSize]);
  }

  state(): AugmentPipeState {
    return { p: this.p, rng: this.rng.state() };
  }

  loadState(state: AugmentPipeState): void {
    this.p = state.p;
    this.rng = SeededRng.fromState(state.rng);
  }

  /** Free the filter taps (the pipe can still be used; they are made again on demand). */
  dispose(): void {
    this.filter?.dispose();
    this.filter = null;
  }
}

function checkImages(images: Tensor): void {
  if (images.rank !== 4 || images.dtype !== 'f32' || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new ShapeError('AugmentPipe', `expects f32 images [N, C, H, W] with C = 1 (L) or 3 (RGB), got ${images.dtype}`, [images.shape]);
  }
}

/** out = C[:3, :3] · rgb + C[:3, 3] per sample; for 1 channel, out = scale · x + offset. */
function applyColor(x: Tensor, colors: Mat4[]): Tensor {
  const [n, c, h, w] = x.shape;
  if (c === 1) {
    const affine = colors.map(lumaAffine);
    const scale = tensor(affine.map((a) => a.scale), [n, 1, 1, 1]);
    const offset = tensor(affine.map((a) => a.offset), [n, 1, 1, 1]);
    return add(mul(x, scale), offset);
  }
  const linear = tensor(colors.flatMap((C) => [0, 1, 2].flatMap((r) => [0, 1, 2].map((k) => at(C, r, k, 4)))), [n, 3, 3]);
  const offset = tensor(colors.flatMap((C) => [0, 1, 2].map((r) => at(C, r, 3, 4))), [n, 3, 1]);
  return reshape(add(matmul(linear, reshape(x, [n, 3, h * w])), offset), [n, c, h, w]);
}

