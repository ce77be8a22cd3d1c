// conv2d's GPU kernels (shaders/conv2d-gemm.wgsl): implicit GEMM on the workgroup-memory tile of
// kernels/tiled-gemm.ts, for any stride, padding, dilation and groups. kernels/conv2d.ts runs them
// where `gpuKernels()` (kernels/variant.ts) says so:
// - `gemmGather`: a convolution (M = N·Ho·Wo pixels, N = Cout/groups, K = Cin/groups·kh·kw), or its
//   input gradient / transposed convolution: at stride 1 as a forward one over the flipped kernel
//   (kernels/conv2d.ts rewrites the padding), otherwise in transposed coordinates, where 1 − 1/s² of
//   each im2col row is zero (the software path's zero-inserted rewrite does the same work in two
//   passes and an extra tensor). Destinations with fewer than GEMM_MIN_CHANNELS channels per group
//   (depthwise) are not covered: a 16-wide tile would be mostly empty; the direct kernels run them.
// - `gemmWeightGrad`: M = Cout/groups, N = Cin/groups·kh·kw, K = N·Ho·Wo pixels, split into chunks
//   so that a launch holds at least GPU_TARGET_WORKGROUPS workgroups (more chunks the larger the
//   batch and image, none below ~16 k steps each); the chunks' partial sums are added after
//   (kernels/conv2d-weights.ts), as on the software path.
// Cache keys: kernel size, coordinates, flip, bias and the tile; everything else is uniforms.
import source from '../shaders/conv2d-gemm.wgsl';
import { runtime } from '../src/engine/gpu/runtime.js';
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { GEOMETRY_FIELDS, geometryValues, type Geometry, type Pair } from './conv2d-geometry.js';
import { sumChunks } from './conv2d-weights.js';
import { checkLoops, loopCapApplies, LOOP_BUDGET } from './loop-budget.js';
import { GEMM_CORE, GEMM_WG, gemmConsts, gemmStaging, gemmTile, gemmTrips, tileKey, tripsPerStep } from './tiled-gemm.js';
import { uniforms } from './uniforms.js';
import { GPU_TARGET_WORKGROUPS } from './variant.js';

const SRC = sections(source);

/** Fewest destination channels per group the GPU gather covers (see the header). */
export const GEMM_MIN_CHANNELS = 4;
/** Fewest pixels a weight-gradient chunk sums: 16 steps of the k loop at BK = 16. */
const MIN_PIXELS_PER_CHUNK = 256;

const IMAGES = { images: 'u32', srcC: 'u32', srcH: 'u32', srcW: 'u32', cs: 'u32', dstC: 'u32', dstH: 'u32', dstW: 'u32', cd: 'u32' } as const;
const GATHER = uniforms('Params', {
  M: 'u32',
  K: 'u32',
  tilesM: 'u32',
  tiles: 'u32',
  ...IMAGES,
  groupStride: 'u32',
  dStride: 'u32',
  sStride: 'u32',
  ...GEOMETRY_FIELDS,
});
const WEIGHT_GRAD = uniforms('Params', {
  N: 'u32',
  K: 'u32',
  tilesN: 'u32',
  tiles: 'u32',
  chunks: 'u32',
  kPerChunk: 'u32',
  weightSize: 'u32',
  gradSize: 'u32',
  ...IMAGES,
  ...GEOMETRY_FIELDS,
});

const maxGroups = () => runtime().ctx.limits.maxComputeWorkgroupsPerDimension;

function checkGroupsFit(op: string, groups: number, shapes: Shape[]): void {
  if (groups > maxGroups()) throw new ShapeError(op, `${groups} groups exceed the ${maxGroups()} workgroups a launch may have along z`, shapes);
}

/**
 * Output [N, Cd, Hd, Wd] gathered from `src` [N, Cs, Hs, Ws] through `w`, as kernels/conv2d-direct.ts
 * `directGather` defines it (forward, stride-1 flipped, or transposed coordinates).
 */
export function gemmGather(op: string, transposed: boolean, flip: boolean, src: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, dstShape: Shape): Tensor {
  const [n, srcC, srcH, srcW] = src.shape;
  const [, dstC, dstH, dstW] = dstShape;
  const [, , kh, kw] = w.shape;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  const taps = kh * kw;
  const M = n * dstH * dstW;
  const K = cs * taps;
  const tile = gemmTile(M, cd);
  checkLoops(op, gemmTrips(tile, K), [src.shape, w.shape], `a ${kh}×${kw} kernel over ${cs} channels per group`);
  checkGroupsFit(op, geo.groups, [src.shape, w.shape]);
  const y = out(dstShape, 'f32', op);
  if (!y.size) return y;
  // Weight of (destination channel d, source channel s) of group g at g·groupStride + d·dStride +
  // s·sStride: forward w is [Cd, Cs/g, kh, kw], transposed (and flipped) w is [Cs, Cd/g, kh, kw].
  const [dStride, sStride] = transposed || flip ? [taps, cd * taps] : [cs * taps, taps];
  const coords = transposed ? 'transposed' : 'forward';
  const staging = gemmStaging();
  const k = kernel(`conv2d:gemm:${coords}:${kh}x${kw}:${flip ? 'flip' : 'noflip'}:${bias ? 'bias' : 'nobias'}:${tileKey(tile)}:${staging.key}`, GATHER, GEMM_WG, () => ({
    body: GEMM_CORE + SRC.gather,
    ...staging.parts,
    consts: {
      ...gemmConsts(tile, true, false, true),
      KW: ['u32', kw],
      TAPS: ['u32', taps],
      TRANSPOSED: ['bool', transposed],
      FLIP: ['bool', flip],
      HAS_BIAS: ['bool', !!bias],
    },
  }));
  const tilesM = Math.ceil(M / tile.tm);
  const tiles = tilesM * Math.ceil(cd / tile.tn);
  const [gx, gy] = grid1d(tiles, 1);
  const sizes = { images: n, srcC, srcH, srcW, cs, dstC, dstH, dstW, cd };
  const values = { M, K, tilesM, tiles, ...sizes, groupStride: cs * cd * taps, dStride, sStride, ...geometryValues(geo) };
  // Without a bias, the source fills its (read-only) slot; the kernel never reads it.
  run(k, [src, w, y, bias ?? src], values, [gx, gy, geo.groups], op);
  return y;
}

/** How `gemmWeightGrad` splits the pixels: chunks of kPerChunk (a multiple of BK). */
export function weightGradChunks(tiles: number, groups: number, pixels: number, bk: number, perStep: number): { chunks: number; kPerChunk: number } {
  const wanted = Math.ceil(GPU_TARGET_WORKGROUPS / (tiles * groups));
  const byWork = Math.max(1, Math.floor(pixels / MIN_PIXELS_PER_CHUNK));
  const byLaunch = Math.max(1, Math.floor(maxGroups() / groups));
  let kPerChunk = Math.ceil(pixels / Math.max(1, Math.min(wanted, byWork, byLaunch)) / bk) * bk;
  // Where the adapter caps loops (GPU kernels forced onto a software adapter), chunks are shorter.
  if (loopCapApplies()) kPerChunk = Math.min(kPerChunk, Math.floor(LOOP_BUDGET / perStep) * bk);
  kPerChunk = Math.max(bk, kPerChunk);
  const chunks = Math.max(1, Math.ceil(pixels / kPerChunk));
  return { chunks, kPerChunk };
}

/** dw [Cdy, Cx/groups, kh, kw] of conv(x, w) given dy, split-K over the pixels of dy. */
export function gemmWeightGrad(op: string, x: Tensor, dy: Tensor, geo: Geometry, [kh, kw]: Pair): Tensor {
  const [n, srcC, srcH, srcW] = x.shape;
  const [, dstC, dstH, dstW] = dy.shape;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  const taps = kh * kw;
  const N = cs * taps;
  const K = n * dstH * dstW;
  const weightSize = dstC * N;
  const tile = gemmTile(cd, N);
  const tilesN = Math.ceil(N / tile.tn);
  const tiles = tilesN * Math.ceil(cd / tile.tm);
  const { chunks, kPerChunk } = weightGradChunks(tiles, geo.groups, K, tile.bk, tripsPerStep(tile));
  checkGroupsFit(op, geo.groups * chunks, [x.shape, dy.shape]);
  const partials = out([chunks, weightSize], 'f32', `${op}:partials`);
  if (!partials.size) return partials.view([dstC, cs, kh, kw]);
  const staging = gemmStaging();
  const k = kernel(`conv2d:gemmWeightGrad:${kh}x${kw}:${tileKey(tile)}:${staging.key}`, WEIGHT_GRAD, GEMM_WG, () => ({
    body: GEMM_CORE + SRC.weightGrad,
    ...staging.parts,
    consts: { ...gemmConsts(tile, false, false, false), KW: ['u32', kw], TAPS: ['u32', taps], TRANSPOSED: ['bool', false] },
  }));
  const [gx, gy] = grid1d(tiles, 1);
  const sizes = { images: n, srcC, srcH, srcW, cs, dstC, dstH, dstW, cd };
  const values = { N, K, tilesN, tiles, chunks, kPerChunk, weightSize, gradSize: dy.size, ...sizes, ...geometryValues(geo) };
  run(k, [x, dy, partials], values, [gx, gy, geo.groups * chunks], op);
  return sumChunks(partials, chunks, [dstC, cs, kh, kw]);
}
