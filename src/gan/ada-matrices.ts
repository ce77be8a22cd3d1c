// The matrices of StyleGAN2-ADA's augmentation pipeline (Karras et al. 2020, training/augment.py of
// NVlabs/stylegan2-ada-pytorch), as pure CPU functions of explicit per-sample parameters.
//
// Conventions, as published:
// - Geometry: G_inv maps an output pixel (x, y, 1) to the input pixel it samples, in pixel units with
//   the origin at the image centre. Each transform is appended on the right (G_inv ← G_inv · T⁻¹).
// - Colour: C maps (r, g, b, 1) to the output colour; each transform is prepended (C ← T · C).
// gl-matrix stores matrices column-major; `at(m, row, col)` and `fromRows` keep the maths readable.
// Its own constructors make Float32Arrays; ours are Float64Array so the composition stays exact to
// f64 (gl-matrix's operations work on any array type).
import { mat3, mat4 } from 'gl-matrix';

export type Mat3 = mat3;
export type Mat4 = mat4;

/** Element (row, col) of a column-major gl-matrix matrix with `n` rows. */
export function at(m: ArrayLike<number>, row: number, col: number, n = 3): number {
  return m[col * n + row];
}

export function mat3FromRows(rows: readonly (readonly number[])[]): Mat3 {
  const m = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) m[c * 3 + r] = rows[r][c];
  return m;
}

export function mat3Rows(m: Mat3): number[][] {
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => at(m, r, c)));
}

export function mat4Rows(m: Mat4): number[][] {
  return [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => at(m, r, c, 4)));
}

export const translate2d = (tx: number, ty: number): Mat3 => mat3FromRows([[1, 0, tx], [0, 1, ty], [0, 0, 1]]);
export const scale2d = (sx: number, sy: number): Mat3 => mat3FromRows([[sx, 0, 0], [0, sy, 0], [0, 0, 1]]);
export const rotate2d = (theta: number): Mat3 =>
  mat3FromRows([[Math.cos(theta), -Math.sin(theta), 0], [Math.sin(theta), Math.cos(theta), 0], [0, 0, 1]]);

/** a · b · c · … */
function chain(...ms: Mat3[]): Mat3 {
  const out = Float64Array.from(ms[0]);
  for (let i = 1; i < ms.length; i++) mat3.multiply(out, out, ms[i]);
  return out;
}

/** torch.round: halves go to the even neighbour (so ±0.5 px translations match the reference). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * One sample's geometric parameters. Each is the identity value when its transform was not drawn.
 * Translations are fractions of the image size, as the published pipeline draws them.
 */
export interface GeometricParams {
  /** 0 or 1. */
  xflip: number;
  /** Quarter turns, 0..3. */
  rotate90: number;
  /** Integer translation before rounding to pixels, [tx, ty] relative to width and height. */
  xint: [number, number];
  /** Isotropic scale factor. */
  scale: number;
  /** Rotation before the anisotropic scaling, radians. */
  preRotate: number;
  /** Anisotropic scale: x by `aniso`, y by 1/`aniso`. */
  aniso: number;
  /** Rotation after the anisotropic scaling, radians. */
  postRotate: number;
  /** Fractional translation [tx, ty] relative to width and height. */
  xfrac: [number, number];
}

export const IDENTITY_GEOMETRY: Readonly<GeometricParams> = Object.freeze({
  xflip: 0,
  rotate90: 0,
  xint: [0, 0] as [number, number],
  scale: 1,
  preRotate: 0,
  aniso: 1,
  postRotate: 0,
  xfrac: [0, 0] as [number, number],
});

/** G_inv for one sample, composed in the published order (blits first, then general geometry). */
export function geometricInverse(p: GeometricParams, width: number, height: number): Mat3 {
  return chain(
    scale2d(1 - 2 * p.xflip, 1), // its own inverse
    rotate2d((Math.PI / 2) * p.rotate90), // inverse of a rotation by −90°·i
    translate2d(-roundHalfEven(p.xint[0] * width), -roundHalfEven(p.xint[1] * height)),
    scale2d(1 / p.scale, 1 / p.scale),
    rotate2d(p.preRotate),
    scale2d(1 / p.aniso, p.aniso),
    rotate2d(p.postRotate),
    translate2d(-p.xfrac[0] * width, -p.xfrac[1] * height),
  );
}

export function isIdentity(m: ArrayLike<number>): boolean {
  const n = Math.round(Math.sqrt(m.length));
  for (let i = 0; i < m.length; i++) if (m[i] !== (i % (n + 1) === 0 ? 1 : 0)) return false;
  return true;
}

/**
 * How the geometric path executes a batch of G_inv: reflect-pad by `pad` = [left, right, top, bottom]
 * (enough that every sampled point, plus the filter's support, lies inside), upsample by `up` with
 * the wavelet filter, grid-sample with `theta` (per sample, 2×3 row-major, in affine_grid's
 * normalised coordinates) to `sampleSize`, then downsample and crop back to the input size.
 * The published path has up = 2 and filterPad = 3; up = 1 with filterPad = 0 is a plain
 * reflect-padded resampling (exact for blits).
 */
export interface GeometricPlan {
  pad: [number, number, number, number];
  /** Grid-sample output size (H, W): the upsampled image plus the filter margin. */
  sampleSize: [number, number];
  theta: Float64Array[];
}

export function geometricPlan(gInv: Mat3[], width: number, height: number, filterPad: number, up = 2): GeometricPlan {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  // The padding must cover where the output corners land in the input, over the whole batch.
  const margin = [0, 0, 0, 0].map((_, k) => (k % 2 === 0 ? filterPad * 2 - cx : filterPad * 2 - cy));
  const extent = [-Infinity, -Infinity, -Infinity, -Infinity]; // max −x, −y, x, y
  for (const g of gInv) {
    for (const [px, py] of [[-cx, -cy], [cx, -cy], [cx, cy], [-cx, cy]]) {
      const x = at(g, 0, 0) * px + at(g, 0, 1) * py + at(g, 0, 2);
      const y = at(g, 1, 0) * px + at(g, 1, 1) * py + at(g, 1, 2);
      extent[0] = Math.max(extent[0], -x);
      extent[1] = Math.max(extent[1], -y);
      extent[2] = Math.max(extent[2], x);
      extent[3] = Math.max(extent[3], y);
    }
  }
  const limit = [width - 1, height - 1, width - 1, height - 1];
  const [mx0, my0, mx1, my1] = extent.map((e, k) => Math.ceil(Math.min(Math.max(e + margin[k], 0), limit[k])));
  const paddedW = width + mx0 + mx1;
  const paddedH = height + my0 + my1;
  const sampleW = (width + filterPad * 2) * up;
  const sampleH = (height + filterPad * 2) * up;
  const shift = (up - 1) / 2; // pixel centres move by this much when the grid is refined by `up`
  const theta = gInv.map((g) => {
    // Into the padded image's frame, then the upsampled one, then affine_grid's normalised
    // [−1, 1] coordinates on both sides.
    const m = chain(
      scale2d(2 / (paddedW * up), 2 / (paddedH * up)),
      translate2d(-shift, -shift),
      scale2d(up, up),
      translate2d((mx0 - mx1) / 2, (my0 - my1) / 2),
      g,
      scale2d(1 / up, 1 / up),
      translate2d(shift, shift),
      scale2d(sampleW / 2, sampleH / 2),
    );
    return Float64Array.from([at(m, 0, 0), at(m, 0, 1), at(m, 0, 2), at(m, 1, 0), at(m, 1, 1), at(m, 1, 2)]);
  });
  return { pad: [mx0, mx1, my0, my1], sampleSize: [sampleH, sampleW], theta };
}

/** True when G_inv only permutes whole pixels (flips, quarter turns, integer shifts): a blit. */
export function isBlit(g: Mat3): boolean {
  return Array.from(g).every((v) => Math.abs(v - Math.round(v)) < 1e-9);
}

// ---------------------------------------------------------------------------------------------
// Colour

/** One sample's colour parameters (identity values when not drawn). */
export interface ColorParams {
  /** Added to every channel. */
  brightness: number;
  /** Multiplies every channel. */
  contrast: number;
  /** 0 or 1: reflect the colour through the plane orthogonal to the luma axis. */
  lumaflip: number;
  /** Rotation about the luma axis, radians (RGB only). */
  hue: number;
  /** Saturation factor (RGB only). */
  saturation: number;
}

export const IDENTITY_COLOR: Readonly<ColorParams> = Object.freeze({ brightness: 0, contrast: 1, lumaflip: 0, hue: 0, saturation: 1 });

const LUMA = [1, 1, 1, 0].map((v) => v / Math.sqrt(3));

function mat4FromRows(rows: number[][]): Mat4 {
  const m = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) m[c * 4 + r] = rows[r][c];
  return m;
}

const lumaOuter = (r: number, c: number) => LUMA[r] * LUMA[c];
const eye = (r: number, c: number) => (r === c ? 1 : 0);
const rows4 = (f: (r: number, c: number) => number) => [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => f(r, c)));

/** Rotation by `theta` about the unit luma axis (Rodrigues' formula in homogeneous 4×4 form). */
function hueRotation(theta: number): Mat4 {
  const [vx, vy, vz] = LUMA;
  const s = Math.sin(theta);
  const c = Math.cos(theta);
  const cc = 1 - c;
  return mat4FromRows([
    [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
    [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
    [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
    [0, 0, 0, 1],
  ]);
}

/** C for one sample; hue and saturation only act when `channels` is 3, as published. */
export function colorMatrix(p: ColorParams, channels: number): Mat4 {
  const steps: Mat4[] = [
    mat4FromRows(rows4((r, c) => eye(r, c) + (c === 3 && r < 3 ? p.brightness : 0))),
    mat4FromRows(rows4((r, c) => (r === c ? (r < 3 ? p.contrast : 1) : 0))),
    mat4FromRows(rows4((r, c) => eye(r, c) - 2 * lumaOuter(r, c) * p.lumaflip)),
  ];
  if (channels > 1) {
    steps.push(hueRotation(p.hue));
    steps.push(mat4FromRows(rows4((r, c) => lumaOuter(r, c) + (eye(r, c) - lumaOuter(r, c)) * p.saturation)));
  }
  const C = mat4FromRows(rows4(eye));
  for (const s of steps) mat4.multiply(C, s, C);
  return C;
}

/**
 * For a 1-channel image the published pipeline averages C's three colour rows, giving
 * out = scale · in + offset with scale the sum of the averaged row's colour part.
 */
export function lumaAffine(C: Mat4): { scale: number; offset: number } {
  let scale = 0;
  let offset = 0;
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) scale += at(C, r, c, 4) / 3;
    offset += at(C, r, 3, 4) / 3;
  }
  return { scale, offset };
}
