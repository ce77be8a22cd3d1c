// StyleGAN2's modulated convolution: weight (de)modulation as one fused kernel with a fused
// backward, conv2dResample (published torch_utils/ops/conv2d_resample.py: convolution with FIR
// up/downsampling, built from conv2d / convTranspose2d and upfirdn2d), and modulatedConv2d
// (training/networks.py modulated_conv2d, without the fp16 pre-normalisation and without noise).
// Cache keys: the kernel name only; every size and flag travels in uniforms.
import source from '../shaders/modulated-conv.wgsl';
import { isGradEnabled, record } from '../src/engine/autograd/graph.js';
import { tidy } from '../src/engine/tensor/scope.js';
import { ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { conv2d, convTranspose2d } from './conv2d.js';
import { add, mul, pow, rsqrt, sub } from './elementwise.js';
import { checkLoops } from './loop-budget.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { flip, permute, reshape } from './shape-ops.js';
import { uniforms } from './uniforms.js';
import { filterSize, parsePadding, upfirdn2d, type Pad4 } from './upfirdn2d.js';

const SRC = sections(source);
/** Invocations per workgroup of the row kernels. */
const WG = 64;
/** Loop iterations of `workgroupSum`'s tree over WG invocations. */
const TREE_TRIPS = Math.log2(WG);
const DEMOD_EPS = 1e-8;

const MODULATE = uniforms('Params', { rows: 'u32', outC: 'u32', inC: 'u32', k: 'u32', kk: 'u32', demodulate: 'u32', eps: 'f32' });
const ROW_STATS = uniforms('Params', { rows: 'u32', outC: 'u32', inC: 'u32', k: 'u32', kk: 'u32', eps: 'f32' });
const MODULATE_GRAD = uniforms('Params', { batch: 'u32', outC: 'u32', inC: 'u32', k: 'u32', kk: 'u32', demodulate: 'u32', weightGroups: 'u32' });

// ---------------------------------------------------------------------------------------------
// Weight modulation

export interface ModulateOptions {
  /** Scale each output filter to unit norm (default true). */
  demodulate?: boolean;
  /** Added to the squared norm before the reciprocal square root (default 1e-8, as published). */
  eps?: number;
}

/**
 * Per-sample weights: weight [O, I, kh, kw], styles [N, I] → [N·O, I, kh, kw] with
 * w[n,o,i,·] = weight[o,i,·]·styles[n,i], then (demodulate) divided by √(Σ_{i,kh,kw} w² + eps).
 */
export function modulateWeights(weight: Tensor, styles: Tensor, opts: ModulateOptions = {}): Tensor {
  const op = 'modulateWeights';
  const demodulate = opts.demodulate ?? true;
  const eps = opts.eps ?? DEMOD_EPS;
  if (weight.rank !== 4 || styles.rank !== 2 || styles.shape[1] !== weight.shape[1]) {
    throw new ShapeError(op, 'expects weight [O, I, kh, kw] and styles [N, I]', [weight.shape, styles.shape]);
  }
  const [outC, inC, kh, kw] = weight.shape;
  const batch = styles.shape[0];
  const k = inC * kh * kw;
  // Per invocation: a row of the forward (or of the backward's statistics) loops 2·⌈K/WG⌉ times, a
  // dstyles element of the backward ⌈O·kh·kw/WG⌉ times, a dweight element N times.
  const trips = Math.max(2 * Math.ceil(k / WG) + 2 * TREE_TRIPS, Math.ceil((outC * kh * kw) / WG) + TREE_TRIPS, batch);
  checkLoops(op, trips, [weight.shape, styles.shape], 'a row, a style or a weight element');
  const y = out([batch * outC, inC, kh, kw], 'f32', op);
  if (y.size) {
    const p = { rows: batch * outC, outC, inC, k, kk: kh * kw, demodulate: demodulate ? 1 : 0, eps };
    run(kernel('modconv:modulate', MODULATE, WG, () => ({ body: SRC.modulate })), [weight, styles, y], p, grid1d(batch * outC, 1), op);
  }
  return record(y, op, [weight, styles], [weight, styles], (g, [sw, ss]) =>
    // Under createGraph the gradient must itself be differentiable (path-length regularisation
    // differentiates the generator twice): compose it from autograd ops instead.
    isGradEnabled() ? modulateGradComposite(g, sw, ss, demodulate, eps) : modulateGradFused(g, sw, ss, demodulate, eps),
  );
}

/** Two launches: per-row statistics (demodulation only), then dweight and dstyles together. */
function modulateGradFused(g: Tensor, weight: Tensor, styles: Tensor, demodulate: boolean, eps: number): [Tensor, Tensor] {
  const op = 'modulateWeightsGrad';
  const [outC, inC, kh, kw] = weight.shape;
  const batch = styles.shape[0];
  const k = inC * kh * kw;
  const rows = batch * outC;
  const dw = out(weight.shape, 'f32', op);
  const ds = out(styles.shape, 'f32', op);
  // Without demodulation du = g and the statistics are never read: g fills their slot.
  const stats = demodulate ? out([rows, 2], 'f32', op) : null;
  if (stats && rows) {
    run(kernel('modconv:rowStats', ROW_STATS, WG, () => ({ body: SRC.rowStats })), [g, weight, styles, stats], { rows, outC, inC, k, kk: kh * kw, eps }, grid1d(rows, 1), op);
  }
  const weightGroups = Math.ceil((outC * k) / WG);
  const groups = weightGroups + batch * inC;
  if (dw.size || ds.size) {
    const p = { batch, outC, inC, k, kk: kh * kw, demodulate: demodulate ? 1 : 0, weightGroups };
    run(kernel('modconv:modulateGrad', MODULATE_GRAD, WG, () => ({ body: SRC.modulateGrad })), [g, weight, styles, stats ?? g, dw, ds], p, grid1d(groups, 1), op);
  }
  stats?.dispose();
  return [dw, ds];
}

/** The same gradient in differentiable ops: du = d·g − d³·(Σ g·u)·u, then the chain rule of u = w·s. */
function modulateGradComposite(g: Tensor, weight: Tensor, styles: Tensor, demodulate: boolean, eps: number): [Tensor, Tensor] {
  const [outC, inC, kh, kw] = weight.shape;
  const batch = styles.shape[0];
  const w4 = reshape(weight, [1, outC, inC, kh * kw]);
  const s4 = reshape(styles, [batch, 1, inC, 1]);
  const g4 = reshape(g, [batch, outC, inC, kh * kw]);
  let du = g4;
  if (demodulate) {
    const u = mul(w4, s4);
    const d = rsqrt(add(sum(mul(u, u), [2, 3], true), eps));
    const gu = sum(mul(g4, u), [2, 3], true);
    du = sub(mul(g4, d), mul(u, mul(pow(d, 3), gu)));
  }
  const dw = reshape(sum(mul(du, s4), 0), weight.shape);
  const ds = reshape(sum(mul(du, w4), [1, 3]), styles.shape);
  return [dw, ds];
}

// ---------------------------------------------------------------------------------------------
// Convolution with resampling

interface ConvCall {
  stride?: number;
  /** [y, x], as PyTorch's conv padding. */
  padding?: [number, number];
  groups: number;
  transpose?: boolean;
  flipWeight: boolean;
}

/** Published `_conv2d_wrapper`: conv2d correlates, so flipWeight=false flips the kernel first. */
function convWrapper(x: Tensor, w: Tensor, c: ConvCall): Tensor {
  const [, , kh, kw] = w.shape;
  const opts = { stride: c.stride ?? 1, padding: c.padding ?? ([0, 0] as [number, number]), groups: c.groups };
  if (c.flipWeight || (kh === 1 && kw === 1)) return c.transpose ? convTranspose2d(x, w, null, opts) : conv2d(x, w, null, opts);
  return tidy(() => {
    const flipped = flip(w, [-2, -1]);
    return c.transpose ? convTranspose2d(x, flipped, null, opts) : conv2d(x, flipped, null, opts);
  });
}

export interface Conv2dResampleOptions {
  up?: number;
  down?: number;
  /** With respect to the upsampled image: n, [x, y] or [x0, x1, y0, y1]. */
  padding?: number | [number, number] | Pad4;
  groups?: number;
  /** true (default): correlation, like conv2d; false: convolution. */
  flipWeight?: boolean;
  /** false (default): the FIR filter convolves; true: it correlates. */
  flipFilter?: boolean;
}

/**
 * Published conv2d_resample: x [N, C, H, W], w [O, C/groups, kh, kw], FIR filter f (from
 * setupFilter; null = identity) → the convolution of the (up·)resampled, padded input, then
 * downsampled; padding is applied once, up front. The same fast paths as published.
 */
export function conv2dResample(x: Tensor, w: Tensor, f: Tensor | null, opts: Conv2dResampleOptions = {}): Tensor {
  const op = 'conv2dResample';
  const up = opts.up ?? 1;
  const down = opts.down ?? 1;
  const groups = opts.groups ?? 1;
  const flipWeight = opts.flipWeight ?? true;
  const flipFilter = opts.flipFilter ?? false;
  if (x.rank !== 4 || w.rank !== 4) throw new ShapeError(op, 'expects x [N, C, H, W] and w [O, C/groups, kh, kw]', [x.shape, w.shape]);
  for (const [name, v] of [['up', up], ['down', down], ['groups', groups]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(op, `${name} must be a positive integer, got ${v}`, [x.shape, w.shape]);
  }
  const [outC, inPerGroup, kh, kw] = w.shape;
  const [fh, fw] = filterSize(f);
  let [px0, px1, py0, py1] = parsePadding(op, opts.padding ?? 0);

  // Account for the filter's footprint, as upsample2d / downsample2d do.
  if (up > 1) {
    px0 += Math.floor((fw + up - 1) / 2);
    px1 += Math.floor((fw - up) / 2);
    py0 += Math.floor((fh + up - 1) / 2);
    py1 += Math.floor((fh - up) / 2);
  }
  if (down > 1) {
    px0 += Math.floor((fw - down + 1) / 2);
    px1 += Math.floor((fw - down) / 2);
    py0 += Math.floor((fh - down + 1) / 2);
    py1 += Math.floor((fh - down) / 2);
  }
  const pad: Pad4 = [px0, px1, py0, py1];
  const fir = { flipFilter };

  // Intermediates die with each path's tidy scope (autograd keeps its own aliases of what it needs).
  // 1×1 kernel, downsampling only: downsample first, then convolve (fewer pixels to convolve).
  if (kw === 1 && kh === 1 && down > 1 && up === 1) {
    return tidy(() => convWrapper(upfirdn2d(x, f, { down, padding: pad, ...fir }), w, { groups, flipWeight }));
  }
  // 1×1 kernel, upsampling only: convolve first, then upsample.
  if (kw === 1 && kh === 1 && up > 1 && down === 1) {
    return tidy(() => upfirdn2d(convWrapper(x, w, { groups, flipWeight }), f, { up, padding: pad, gain: up * up, ...fir }));
  }
  // Downsampling only: filter, then a strided convolution.
  if (down > 1 && up === 1) {
    return tidy(() => convWrapper(upfirdn2d(x, f, { padding: pad, ...fir }), w, { stride: down, groups, flipWeight }));
  }
  // Upsampling (maybe with downsampling): a strided transposed convolution, then the filter.
  if (up > 1) {
    px0 -= kw - 1;
    px1 -= kw - up;
    py0 -= kh - 1;
    py1 -= kh - up;
    // Whatever both sides crop is cropped by the transposed convolution's own padding.
    const pxt = Math.max(Math.min(-px0, -px1), 0);
    const pyt = Math.max(Math.min(-py0, -py1), 0);
    return tidy(() => {
      // convTranspose2d wants [C, O/groups, kh, kw]: swap the channel axes within each group.
      const wt =
        groups === 1
          ? permute(w, [1, 0, 2, 3])
          : reshape(permute(reshape(w, [groups, outC / groups, inPerGroup, kh, kw]), [0, 2, 1, 3, 4]), [groups * inPerGroup, outC / groups, kh, kw]);
      const t = convWrapper(x, wt, { stride: up, padding: [pyt, pxt], groups, transpose: true, flipWeight: !flipWeight });
      const y = upfirdn2d(t, f, { padding: [px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain: up * up, ...fir });
      return down > 1 ? upfirdn2d(y, f, { down, ...fir }) : y;
    });
  }
  // No resampling and symmetric non-negative padding: a plain convolution.
  if (px0 === px1 && py0 === py1 && px0 >= 0 && py0 >= 0) {
    return convWrapper(x, w, { padding: [py0, px0], groups, flipWeight });
  }
  // Anything else (asymmetric or negative padding): pad/crop with upfirdn2d, then convolve.
  return tidy(() => convWrapper(upfirdn2d(x, null, { padding: pad, ...fir }), w, { groups, flipWeight }));
}

// ---------------------------------------------------------------------------------------------
// Modulated convolution

export interface ModulatedConv2dOptions {
  demodulate?: boolean;
  /** With respect to the upsampled image: n (as published), [x, y] or [x0, x1, y0, y1]. */
  padding?: number | [number, number] | Pad4;
  up?: number;
  down?: number;
  /** FIR filter for resampling (from setupFilter); null = identity. */
  resampleFilter?: Tensor | null;
  flipWeight?: boolean;
  /**
   * true (default): per-sample weights and one grouped convolution; false: scale the activations
   * before and after a shared-weight convolution (the published non-fused path).
   */
  fusedModconv?: boolean;
}

/** x [N, I, H, W], weight [O, I, kh, kw], styles [N, I] → [N, O, H', W']. */
export function modulatedConv2d(x: Tensor, weight: Tensor, styles: Tensor, opts: ModulatedConv2dOptions = {}): Tensor {
  const op = 'modulatedConv2d';
  if (x.rank !== 4 || weight.rank !== 4 || styles.rank !== 2 || styles.shape[0] !== x.shape[0] || styles.shape[1] !== x.shape[1] || weight.shape[1] !== x.shape[1]) {
    throw new ShapeError(op, 'expects x [N, I, H, W], weight [O, I, kh, kw] and styles [N, I]', [x.shape, weight.shape, styles.shape]);
  }
  const [batch, inC, h, w] = x.shape;
  const outC = weight.shape[0];
  const demodulate = opts.demodulate ?? true;
  const resample = {
    up: opts.up ?? 1,
    down: opts.down ?? 1,
    padding: opts.padding ?? 0,
    flipWeight: opts.flipWeight ?? true,
  };
  const f = opts.resampleFilter ?? null;

  if (!(opts.fusedModconv ?? true)) {
    return tidy(() => {
      const y = conv2dResample(mul(x, reshape(styles, [batch, inC, 1, 1])), weight, f, resample);
      if (!demodulate) return y;
      // Σ_{i,k} (w·s)² = Σ_i s_i² · Σ_k w_{o,i,k}²: one small matmul instead of per-sample weights.
      const energy = matmul(mul(styles, styles), sum(mul(weight, weight), [2, 3]), { transB: true });
      const dcoefs = rsqrt(add(energy, DEMOD_EPS));
      return mul(y, reshape(dcoefs, [batch, outC, 1, 1]));
    });
  }
  return tidy(() => {
    const wN = modulateWeights(weight, styles, { demodulate });
    const y = conv2dResample(reshape(x, [1, batch * inC, h, w]), wN, f, { ...resample, groups: batch });
    return reshape(y, [batch, outC, y.shape[2], y.shape[3]]);
  });
}
