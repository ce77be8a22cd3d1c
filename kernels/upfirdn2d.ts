// upfirdn2d (StyleGAN2-ADA's resampling op): upsample by zero insertion, pad or crop, FIR-filter,
// downsample; semantics of NVlabs/stylegan2-ada-pytorch torch_utils/ops/upfirdn2d.py. One direct
// kernel, so the zero-stuffed image is never materialised. Its gradient is upfirdn2d again (filter
// flipped, up and down swapped, the published padding formula), recorded like any op, so second
// derivatives (R1 through the discriminator's downsampling) come for free.
// Cache key: filters up to 8×8 run a kernel with filter size, factors, flip and separability compiled
// in (`upfirdn2dFixed`); larger ones a generic kernel with all of those in uniforms. Sizes, padding
// and gain are uniforms in both.
import source from '../shaders/upfirdn2d.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { ShapeError } from '../src/engine/tensor/shape.js';
import { tensor, type Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { checkLoops } from './loop-budget.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 64;
/** Filters up to this many taps (8×8) run on `upfirdn2dFixed`; larger ones on the generic kernel. */
const FIXED_MAX_TAPS = 64;
/**
 * Outputs per `upfirdn2dFixed` invocation along a row. Measured on llvmpipe (4×4 filter, batch 16,
 * 64 channels; ms, noisy): plain 33² → 32²: 1: 46, 2: 36, 4: 30, 8: 26; up 2 from 16²: 24, 27, 15,
 * 18; down 2 from 32²: 14, 6, 8, 7 (the generic kernel: 95, 39, 23). 4 wastes less on StyleGAN's
 * narrow rows (4 and 8 pixels) than 8.
 */
const FIXED_PX = 4;

const GENERIC = uniforms('Params', {
  /** Output elements: N·C·outH·outW. */
  n: 'u32',
  inH: 'u32',
  inW: 'u32',
  outH: 'u32',
  outW: 'u32',
  upX: 'i32',
  upY: 'i32',
  downX: 'i32',
  downY: 'i32',
  padX0: 'i32',
  padY0: 'i32',
  fh: 'i32',
  fw: 'i32',
  /** 1: correlate with the filter as given (flip_filter=True). */
  flip: 'u32',
  /** 1: F holds fw taps used as the outer product f[ky]·f[kx]. */
  separable: 'u32',
  gain: 'f32',
});

const FIXED = uniforms('Params', {
  /** Invocations: N·C·outH·segsPerRow. */
  n: 'u32',
  inH: 'u32',
  inW: 'u32',
  outH: 'u32',
  outW: 'u32',
  /** ⌈outW / PX⌉. */
  segsPerRow: 'u32',
  padX0: 'i32',
  padY0: 'i32',
  gain: 'f32',
});

/** [x0, x1, y0, y1]: zeros added before/after along x and y; negative values crop. */
export type Pad4 = [number, number, number, number];

export interface Upfirdn2dOptions {
  up?: number | [number, number];
  down?: number | [number, number];
  padding?: number | [number, number] | Pad4;
  /** false (default): true convolution with the filter; true: correlation. */
  flipFilter?: boolean;
  /** Overall scale of the result (applied once for a 2-D filter and for separable 1-D taps alike). */
  gain?: number;
}

/** [x, y] factors, as published `_parse_scaling`. */
function parseScaling(op: string, name: string, v: number | [number, number]): [number, number] {
  const s: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!s.every((k) => Number.isInteger(k) && k >= 1)) throw new ShapeError(op, `${name} must be integers ≥ 1, got ${JSON.stringify(v)}`);
  return s;
}

/** [x0, x1, y0, y1], as published `_parse_padding`: n → all four, [x, y] → [x, x, y, y]. */
export function parsePadding(op: string, v: number | [number, number] | Pad4): Pad4 {
  const p: number[] = typeof v === 'number' ? [v, v, v, v] : v.length === 2 ? [v[0], v[0], v[1], v[1]] : [...v];
  if (p.length !== 4 || !p.every(Number.isInteger)) throw new ShapeError(op, `padding must be integers (n, [x, y] or [x0, x1, y0, y1]), got ${JSON.stringify(v)}`);
  return p as Pad4;
}

/** [fh, fw] (note: the published `_get_filter_size` returns [fw, fh]); null is the 1×1 identity. */
export function filterSize(f: Tensor | null): [number, number] {
  if (!f) return [1, 1];
  if (f.rank === 1) return [f.shape[0], f.shape[0]];
  if (f.rank === 2) return [f.shape[0], f.shape[1]];
  throw new ShapeError('filterSize', 'a filter is 1-D taps or a 2-D [fh, fw] tensor', [f.shape]);
}

/**
 * x [N, C, H, W] → [N, C, (H·upY + y0 + y1 − fh) / downY + 1, (W·upX + x0 + x1 − fw) / downX + 1]
 * (floored). The filter is [fh, fw] (or 1-D taps, applied as their outer product; or null for
 * identity); it is a constant: no gradient flows to it, as published.
 */
export function upfirdn2d(x: Tensor, filter: Tensor | null, opts: Upfirdn2dOptions = {}): Tensor {
  const op = 'upfirdn2d';
  if (x.rank !== 4 || x.dtype !== 'f32') throw new ShapeError(op, `expects an f32 [N, C, H, W] input, got ${x.dtype}`, [x.shape]);
  if (filter && (filter.dtype !== 'f32' || filter.rank < 1 || filter.rank > 2 || filter.size === 0)) {
    throw new ShapeError(op, 'the filter must be non-empty f32 [fh, fw] or 1-D taps', [x.shape, filter.shape]);
  }
  const [upX, upY] = parseScaling(op, 'up', opts.up ?? 1);
  const [downX, downY] = parseScaling(op, 'down', opts.down ?? 1);
  const [padX0, padX1, padY0, padY1] = parsePadding(op, opts.padding ?? 0);
  const flip = opts.flipFilter ?? false;
  const gain = opts.gain ?? 1;
  const [n, c, inH, inW] = x.shape;
  const [fh, fw] = filterSize(filter);
  const outH = Math.floor((inH * upY + padY0 + padY1 - fh) / downY) + 1;
  const outW = Math.floor((inW * upX + padX0 + padX1 - fw) / downX) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(op, `the ${fh}×${fw} filter does not fit the upsampled, padded input: output would be ${outH}×${outW}`, [x.shape, filter?.shape ?? [1, 1]]);
  }

  // Each output visits at most ⌈fh/up⌉·⌈fw/up⌉ input pixels (in ⌈fh/up⌉ rows); the fixed kernel's
  // invocations make FIXED_PX outputs.
  const rows = Math.ceil(fh / upY);
  const taps = rows * Math.ceil(fw / upX);
  const trips = fh * fw <= FIXED_MAX_TAPS ? FIXED_PX * (taps + rows) : taps + rows;
  checkLoops(op, trips, [x.shape, filter?.shape ?? [1, 1]], `a ${fh}×${fw} filter at up ${upX}×${upY}`);
  const y = out([n, c, outH, outW], 'f32', op);
  if (y.size) {
    // The identity filter still goes through the kernel (one tap of value 1) to keep one code path.
    const f = filter ?? tensor([1], [1, 1]);
    const separable = f.rank === 1;
    if (fh * fw <= FIXED_MAX_TAPS) {
      runFixed(op, x, f, y, { fh, fw, upX, upY, downX, downY, flip, separable }, [padX0, padY0], gain);
    } else {
      const p = { n: y.size, inH, inW, outH, outW, upX, upY, downX, downY, padX0, padY0, fh, fw, flip: flip ? 1 : 0, separable: separable ? 1 : 0, gain };
      run(kernel('upfirdn2d', GENERIC, WG, () => ({ body: SRC.upfirdn2d })), [x, f, y], p, grid1d(y.size, WG), op);
    }
    if (!filter) f.dispose();
  }
  return record(y, op, [x], filter ? [filter] : [], (g, saved) => {
    // Published backward: the transposed resampling is the same op with the roles swapped.
    const pad: Pad4 = [
      fw - padX0 - 1,
      inW * upX - outW * downX + padX0 - upX + 1,
      fh - padY0 - 1,
      inH * upY - outH * downY + padY0 - upY + 1,
    ];
    return [upfirdn2d(g, saved[0] ?? null, { up: [downX, downY], down: [upX, upY], padding: pad, flipFilter: !flip, gain })];
  });
}

/** What `upfirdn2dFixed` compiles in: its cache key. */
interface FixedKernel {
  fh: number;
  fw: number;
  upX: number;
  upY: number;
  downX: number;
  downY: number;
  flip: boolean;
  separable: boolean;
}

/**
 * `upfirdn2dFixed`: the filter size, factors and flags as WGSL constants. StyleGAN2 uses a handful
 * of combinations (4×4 or 1×1 filters, factors 1 and 2, both flips), so few pipelines are built;
 * larger filters take the generic kernel rather than multiplying variants.
 */
function runFixed(op: string, x: Tensor, f: Tensor, y: Tensor, k: FixedKernel, [padX0, padY0]: [number, number], gain: number): void {
  const [n, c, inH, inW] = x.shape;
  const [, , outH, outW] = y.shape;
  const px = outW < FIXED_PX ? outW : FIXED_PX;
  const segsPerRow = Math.ceil(outW / px);
  const invocations = n * c * outH * segsPerRow;
  const flipName = k.flip ? 'corr' : 'conv';
  const key = `upfirdn2d:fixed:${k.fh}x${k.fw}:up${k.upX}x${k.upY}:down${k.downX}x${k.downY}:${flipName}:${k.separable ? 'sep' : '2d'}:px${px}`;
  const fixed = kernel(key, FIXED, WG, () => ({
    body: SRC.upfirdn2dFixed,
    consts: {
      FH: ['i32', k.fh],
      FW: ['i32', k.fw],
      UPX: ['i32', k.upX],
      UPY: ['i32', k.upY],
      DOWNX: ['i32', k.downX],
      DOWNY: ['i32', k.downY],
      FLIP: ['bool', k.flip],
      SEPARABLE: ['bool', k.separable],
      TY: ['i32', Math.ceil(k.fh / k.upY)],
      TX: ['i32', Math.ceil(k.fw / k.upX)],
      PX: ['u32', px],
    },
  }));
  run(fixed, [x, f, y], { n: invocations, inH, inW, outH, outW, segsPerRow, padX0, padY0, gain }, grid1d(invocations, WG), op);
}

export interface SetupFilterOptions {
  /** Scale the taps to sum to 1, so a constant signal keeps its magnitude (default true). */
  normalize?: boolean;
  flipFilter?: boolean;
  gain?: number;
  /**
   * Return the 1-D taps themselves instead of their outer product (published default: 1-D taps of
   * 8 or more). Both forms filter identically here; the 2-D form is the default for simplicity.
   */
  separable?: boolean;
}

/**
 * Published `setup_filter`: 1-D taps become their outer product [n, n] (unless `separable`), then
 * normalised to sum 1, flipped if asked, and scaled by gain (gain^(1/2) per axis for separable taps).
 */
export function setupFilter(taps: number[] | number[][], opts: SetupFilterOptions = {}): Tensor {
  const op = 'setupFilter';
  const twoD = Array.isArray(taps[0]);
  const rows = twoD ? (taps as number[][]) : null;
  const oneD = twoD ? null : (taps as number[]);
  if ((rows && (!rows.length || rows.some((r) => r.length !== rows[0].length || !r.length))) || (oneD && !oneD.length)) {
    throw new ShapeError(op, 'taps must be a non-empty list or a rectangular non-empty 2-D list');
  }
  if (rows && opts.separable) throw new ShapeError(op, 'a 2-D filter cannot be made separable');
  const separable = !!oneD && (opts.separable ?? false);
  let values: number[];
  let shape: number[];
  if (separable) {
    values = [...oneD!];
    shape = [values.length];
  } else if (oneD) {
    values = oneD.flatMap((a) => oneD.map((b) => a * b));
    shape = [oneD.length, oneD.length];
  } else {
    values = rows!.flat();
    shape = [rows!.length, rows![0].length];
  }
  if (opts.normalize ?? true) {
    const total = values.reduce((s, v) => s + v, 0);
    values = values.map((v) => v / total);
  }
  // Reversing the row-major list reverses every axis at once.
  if (opts.flipFilter) values.reverse();
  const gain = (opts.gain ?? 1) ** (shape.length / 2);
  return tensor(values.map((v) => v * gain), shape);
}

export interface Resample2dOptions {
  padding?: number | [number, number] | Pad4;
  flipFilter?: boolean;
  gain?: number;
}

/**
 * Published `upsample2d`: output exactly up× the input (plus `padding`); the op's gain is
 * multiplied by up² internally so that zero insertion keeps the signal's magnitude.
 */
export function upsample2d(x: Tensor, f: Tensor | null, opts: Resample2dOptions & { up?: number | [number, number] } = {}): Tensor {
  const [upX, upY] = parseScaling('upsample2d', 'up', opts.up ?? 2);
  const [px0, px1, py0, py1] = parsePadding('upsample2d', opts.padding ?? 0);
  const [fh, fw] = filterSize(f);
  const padding: Pad4 = [
    px0 + Math.floor((fw + upX - 1) / 2),
    px1 + Math.floor((fw - upX) / 2),
    py0 + Math.floor((fh + upY - 1) / 2),
    py1 + Math.floor((fh - upY) / 2),
  ];
  return upfirdn2d(x, f, { up: [upX, upY], padding, flipFilter: opts.flipFilter, gain: (opts.gain ?? 1) * upX * upY });
}

/** Published `downsample2d`: output exactly 1/down of the input (plus `padding`, in input pixels). */
export function downsample2d(x: Tensor, f: Tensor | null, opts: Resample2dOptions & { down?: number | [number, number] } = {}): Tensor {
  const [downX, downY] = parseScaling('downsample2d', 'down', opts.down ?? 2);
  const [px0, px1, py0, py1] = parsePadding('downsample2d', opts.padding ?? 0);
  const [fh, fw] = filterSize(f);
  const padding: Pad4 = [
    px0 + Math.floor((fw - downX + 1) / 2),
    px1 + Math.floor((fw - downX) / 2),
    py0 + Math.floor((fh - downY + 1) / 2),
    py1 + Math.floor((fh - downY) / 2),
  ];
  return upfirdn2d(x, f, { down: [downX, downY], padding, flipFilter: opts.flipFilter, gain: opts.gain });
}
