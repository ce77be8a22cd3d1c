// The direct 2-D convolution kernels, for any stride, padding, dilation and groups
// (shaders/conv2d-direct.wgsl): `directGather` computes a convolution (forward coordinates) or its
// input gradient / transposed convolution (transposed coordinates), `directWeightGrad` the weight
// gradient, split-K over the output's pixels. kernels/conv2d.ts decides when they run (the padded-row
// path, kernels/conv2d-rows.ts, takes stride 1 without dilation).
// Cache keys: coordinates, kernel size, channel tile and bias (all change the WGSL); shapes are uniforms.
import source from '../shaders/conv2d-direct.wgsl';
import { runtime } from '../src/engine/gpu/runtime.js';
import type { Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { GEOMETRY_FIELDS, geometryValues, range, type Geometry, type Pair } from './conv2d-geometry.js';
import { packWeights, sumChunks } from './conv2d-weights.js';
import { checkLoops, maxLoopTrips } from './loop-budget.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 64;
/** Invocations per weight-gradient launch worth aiming for (split-K chunks fill the rest). */
const WEIGHT_GRAD_PARALLELISM = 2048;

/** Sizes both kernels take: source and destination images, channels per group of each. */
const IMAGES = { srcC: 'u32', srcH: 'u32', srcW: 'u32', cs: 'u32', dstC: 'u32', dstH: 'u32', dstW: 'u32', cd: 'u32' } as const;
const GATHER = uniforms('Params', { nQuads: 'u32', quadsPerRow: 'u32', foldX: 'u32', blocksPerGroup: 'u32', ...IMAGES, ...GEOMETRY_FIELDS });
const WEIGHT_GRAD = uniforms('Params', {
  nTiles: 'u32',
  nChunks: 'u32',
  quadsPerChunk: 'u32',
  nQuads: 'u32',
  quadsPerRow: 'u32',
  coBlocks: 'u32',
  ...IMAGES,
  weightSize: 'u32',
  ...GEOMETRY_FIELDS,
});

/**
 * Output [N, Cd, Hd, Wd] gathered from `src` [N, Cs, Hs, Ws] through `w`: forward coordinates (a
 * convolution; w is [Cd, Cs/groups, kh, kw], or with `flip` a stride-1 transposed one given as
 * [Cs, Cd/groups, kh, kw] whose taps are read reversed) or transposed ones (the input gradient; w
 * is [Cs, Cd/groups, kh, kw]).
 */
export function directGather(op: string, transposed: boolean, flip: boolean, src: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, dstShape: Shape): Tensor {
  const [n, srcC, srcH, srcW] = src.shape;
  const [, dstC, dstH, dstW] = dstShape;
  const [, , kh, kw] = w.shape;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  // Every source channel loops over the kernel's rows and taps.
  checkLoops(op, cs * (1 + kh * (1 + kw)), [src.shape, w.shape], `a ${kh}×${kw} kernel over ${cs} channels per group`);
  // 16 output channels per invocation amortise each input load over 16 vec4 FMAs (measured faster
  // than 8 on llvmpipe at the UNet's shapes); fewer where the group has fewer.
  const tc = cd <= 4 ? 4 : cd <= 8 ? 8 : 16;
  const blocksPerGroup = Math.ceil(cd / tc);
  const blocks = geo.groups * blocksPerGroup;
  const y = out(dstShape, 'f32', op);
  if (!y.size) return y;

  const packed = packWeights(op, w, transposed || flip, flip, cs, cd, tc, geo.groups);

  const coords = transposed ? 'transposed' : 'forward';
  const k = kernel(`conv2d:gather:${coords}:${kh}x${kw}:tc${tc}:${bias ? 'bias' : 'nobias'}`, GATHER, WG, () => ({
    body: SRC.gather,
    consts: { KH: ['i32', kh], KW: ['i32', kw], TC: ['u32', tc], TC4: ['u32', tc / 4], TRANSPOSED: ['bool', transposed], HAS_BIAS: ['bool', !!bias] },
  }));
  const quadsPerRow = Math.ceil(dstW / 4);
  const nQuads = n * dstH * quadsPerRow;
  const groupsX = Math.ceil(nQuads / WG);
  const foldX = Math.min(groupsX, runtime().ctx.limits.maxComputeWorkgroupsPerDimension);
  const values = { nQuads, quadsPerRow, foldX, blocksPerGroup, srcC, srcH, srcW, cs, dstC, dstH, dstW, cd, ...geometryValues(geo) };
  // Without a bias, the source fills its (read-only) slot; the kernel never reads it.
  run(k, [src, packed, y, bias ?? src], values, [foldX, blocks, Math.ceil(groupsX / foldX)], op);
  packed.dispose();
  return y;
}

/** dw [Cdy, Cx/groups, kh, kw] of conv(x, w) given dy, by split-K over the pixels of dy. */
export function directWeightGrad(op: string, x: Tensor, dy: Tensor, geo: Geometry, [kh, kw]: Pair): Tensor {
  const [n, srcC, srcH, srcW] = x.shape;
  const [, dstC, dstH, dstW] = dy.shape;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  const taps = kh * kw;
  const weightSize = dstC * cs * taps;
  const coBlocks = Math.ceil(cd / 4);
  const nTiles = geo.groups * coBlocks * cs;
  const quadsPerRow = Math.ceil(dstW / 4);
  const nQuads = n * dstH * quadsPerRow;
  // Every quad is one loop iteration (the taps are unrolled).
  const wantChunks = Math.max(1, Math.ceil(WEIGHT_GRAD_PARALLELISM / nTiles));
  const quadsPerChunk = Math.max(1, Math.min(maxLoopTrips(), Math.max(64, Math.ceil(nQuads / wantChunks))));
  const nChunks = Math.max(1, Math.ceil(nQuads / quadsPerChunk));
  const partials = out([nChunks, weightSize], 'f32', `${op}:partials`);
  if (!partials.size) return partials.view([dstC, cs, kh, kw]);
  const k = kernel(`conv2d:weightGrad:${kh}x${kw}`, WEIGHT_GRAD, WG, () => ({
    body: SRC.weightGrad,
    consts: { KH: ['i32', kh], KW: ['i32', kw], TAPS: ['u32', taps] },
    slots: { TAP_BODY: weightGradTaps(kh, kw), STORE: weightGradStore(taps) },
  }));
  const values = { nTiles, nChunks, quadsPerChunk, nQuads, quadsPerRow, coBlocks, srcC, srcH, srcW, cs, dstC, dstH, dstW, cd, weightSize };
  run(k, [x, dy, partials], { ...values, ...geometryValues(geo) }, grid1d(nTiles * nChunks, WG), op);
  return sumChunks(partials, nChunks, [dstC, cs, kh, kw]);
}

/** Unrolled taps: per kernel row the source row, per tap one vec4 load feeding 4 channels. */
function weightGradTaps(kh: number, kw: number): string {
  const lines: string[] = [];
  for (let ky = 0; ky < kh; ky++) {
    lines.push(`{`);
    lines.push(`  let iy = coordForward4(vec4<i32>(i32(oy)), ${ky}, P.strideY, P.padY, P.dilY, P.srcH).x;`);
    lines.push(`  let rowStart = plane + u32(max(iy, 0)) * P.srcW;`);
    for (let kx = 0; kx < kw; kx++) {
      const t = ky * kw + kx;
      lines.push(`  { let v = loadSrc(rowStart, iy, coordForward4(ox, ${kx}, P.strideX, P.padX, P.dilX, P.srcW));`);
      lines.push(`    ${range(4).map((c) => `acc[${c * (kh * kw) + t}] += g${c} * v;`).join(' ')} }`);
    }
    lines.push(`}`);
  }
  return lines.join('\n    ');
}

/** The stores of the 4 output channels' partial sums, each tap's vec4 of pixels summed. */
function weightGradStore(taps: number): string {
  return range(4)
    .map((c) => {
      const stores = range(taps).map((t) => `Out[outBase + ${c}u * P.cs * TAPS + ${t}u] = dot(acc[${c * taps + t}], ones);`);
      return `if (co0 + ${c}u < P.cd) {\n    ${stores.join('\n    ')}\n  }`;
    })
    .join('\n  ');
}
