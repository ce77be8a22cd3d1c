// The stride-1, dilation-1 fast path of 2-D convolution (shaders/conv2d-rows.wgsl): the source is
// copied into a zero-padded layout of vec4-aligned rows (`padRows`), over which `rowsGather` runs
// forward convolutions (and stride-1 transposed ones, flipped) and `rowsWeightGrad` the weight
// gradient, split-K. Both return null where the padded copy would not fit one storage binding; the
// caller (kernels/conv2d.ts) then runs the direct kernels.
// Cache keys: kernel size, pixel and channel tiles, workgroup size, vector or scalar rows and bias.
import source from '../shaders/conv2d-rows.wgsl';
import { runtime } from '../src/engine/gpu/runtime.js';
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { range, type Geometry, type Pair } from './conv2d-geometry.js';
import { packWeights, sumChunks } from './conv2d-weights.js';
import { checkLoops, maxLoopTrips } from './loop-budget.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
/** Workgroup sizes: the convolution kernels and `padRowsVec4`; `padRows` (one element each). */
const WG = 64;
const COPY_WG = 256;

/**
 * `rowsForward` tile: up to ROWS_PX adjacent pixels × ROWS_TC output channels per invocation (fewer
 * pixels on narrow rows). Loads are the cost (see the shader's header): per source channel and
 * 3×3 kernel row, ⌈(PX + 2)/4⌉ window vec4s and 3·TC/4 weight vec4s feed 3·PX·TC FMAs, best at
 * 16×4 among tiles of 16 vec4 accumulators. Measured at the UNet's 3×3 shapes (GFLOP/s, both cores
 * shared with another job): 16×4: 12–18; 8×8: 12–17; 4×16: 10–13; 16×8, 24×4, 32×4 and two rows
 * of 8×4 slower.
 */
const ROWS_PX = 16;
const ROWS_TC = 4;
/**
 * Output channels per `rowsWeightGrad` invocation (accumulators: ROWS_TCO × taps; 4 where the group
 * has no more). Measured at the UNet's 3×3 shapes: 8 and 16 within noise of each other, 4 about 25%
 * slower.
 */
const ROWS_TCO = 8;
/** Output pixels per `rowsWeightGrad` loop iteration: 8 measured ~10% faster than 4 or 16. */
const ROWS_GRAD_PX = 8;
/** `rowsWeightGrad` puts input channels on SIMD lanes (llvmpipe: 8 wide); fewer leave lanes idle. */
export const ROWS_MIN_LANES = 8;
/** Workgroups per weight-gradient launch worth aiming for (2 threads; more balance the load). */
const ROWS_WEIGHT_GRAD_WORKGROUPS = 64;

const PAD_ROWS = uniforms('Params', { n: 'u32', outH: 'u32', outW: 'u32', srcH: 'u32', srcW: 'u32', padY: 'i32', padX: 'i32' });
const PAD_ROWS_VEC4 = uniforms('Params', { n: 'u32', outH: 'u32', outW: 'u32', segsPerRow: 'u32', srcH: 'u32', srcW: 'u32', padY: 'i32', padX: 'i32' });
const ROWS_FORWARD = uniforms('Params', {
  nSegs: 'u32',
  segsPerRow: 'u32',
  foldX: 'u32',
  blocksPerGroup: 'u32',
  srcC: 'u32',
  srcHp: 'u32',
  srcWp4: 'u32',
  cs: 'u32',
  dstC: 'u32',
  dstH: 'u32',
  dstW: 'u32',
  cd: 'u32',
});
const ROWS_WEIGHT_GRAD = uniforms('Params', {
  nSegs: 'u32',
  segsPerRow: 'u32',
  segsPerChunk: 'u32',
  coBlocks: 'u32',
  ciGroups: 'u32',
  cs: 'u32',
  cd: 'u32',
  srcC: 'u32',
  srcHp: 'u32',
  srcWp4: 'u32',
  dstC: 'u32',
  dstH: 'u32',
  dstW: 'u32',
  weightSize: 'u32',
});

/**
 * The padded layout an output of `outHW` reads through a kh × kw kernel at stride 1, `px` pixels per
 * invocation: padded (oy + ky, ox + kx) is source (oy + ky − padY, ox + kx − padX); rows are long
 * enough for the last invocation's whole window in aligned vec4s.
 */
function paddedLayout([ho, wo]: Pair, [kh, kw]: Pair, px: number) {
  const segsPerRow = Math.ceil(wo / px);
  const windowVec4s = Math.ceil((px + kw - 1) / 4);
  return { segsPerRow, windowVec4s, hp: ho + kh - 1, wp: 4 * (((segsPerRow - 1) * px) / 4 + windowVec4s) };
}

/**
 * Whether the padded copy of `planes` source planes fits one storage binding; if not, the direct
 * kernels run instead (e.g. [24, 16, 256, 256] on a 128 MiB adapter). SRASEG_CONV_ROWS=0 forces them,
 * for tests and comparisons.
 */
function paddedFits(planes: number, layout: { hp: number; wp: number }): boolean {
  if (process.env.SRASEG_CONV_ROWS === '0') return false;
  return planes * layout.hp * layout.wp * 4 <= runtime().ctx.limits.maxStorageBufferBindingSize;
}

/** `src` [N, C, H, W] as [N, C, hp, wp] shifted by `pad`, zeros outside; `src` itself when that is the same. */
function padRows(op: string, src: Tensor, hp: number, wp: number, pad: Pair): Tensor {
  const [n, c, h, w] = src.shape;
  if (hp === h && wp === w && pad[0] === 0 && pad[1] === 0) return src;
  const padded = out([n, c, hp, wp], 'f32', `${op}:padded`);
  if (w % 4 === 0) {
    const segsPerRow = Math.ceil(wp / 16);
    const count = n * c * hp * segsPerRow;
    const k = kernel('conv2d:padRowsVec4', PAD_ROWS_VEC4, WG, () => ({ body: SRC.padRowsVec4 }));
    run(k, [src, padded], { n: count, outH: hp, outW: wp, segsPerRow, srcH: h, srcW: w, padY: pad[0], padX: pad[1] }, grid1d(count, WG), op);
    return padded;
  }
  const k = kernel('conv2d:padRows', PAD_ROWS, COPY_WG, () => ({ body: SRC.padRows }));
  run(k, [src, padded], { n: padded.size, outH: hp, outW: wp, srcH: h, srcW: w, padY: pad[0], padX: pad[1] }, grid1d(padded.size, COPY_WG), op);
  return padded;
}

/** `gather` at stride 1 without dilation: `rowsForward` over the padded source. */
export function rowsGather(op: string, src: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, dstShape: Shape, flip: boolean): Tensor | null {
  const [n, srcC] = src.shape;
  const [, dstC, dstH, dstW] = dstShape;
  const [, , kh, kw] = w.shape;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  // The kernel's taps are unrolled: one loop iteration per source channel.
  checkLoops(op, cs, [src.shape, w.shape], `${cs} channels per group`);
  const tc = ROWS_TC;
  const px = dstW <= 4 ? 4 : dstW <= 8 ? 8 : ROWS_PX;
  const blocksPerGroup = Math.ceil(cd / tc);
  const layout = paddedLayout([dstH, dstW], [kh, kw], px);
  if (!paddedFits(n * srcC, layout)) return null;
  const y = out(dstShape, 'f32', op);
  if (!y.size) return y;
  const padded = padRows(op, src, layout.hp, layout.wp, geo.padding);
  // Only forward convolutions and flipped transposed ones come here, so `flip` says which layout w has.
  const packed = packWeights(op, w, flip, flip, cs, cd, tc, geo.groups);
  const vecOut = dstW % 4 === 0;
  const k = kernel(`conv2d:rowsForward:${kh}x${kw}:px${px}:${vecOut ? 'vec4' : 'scalar'}:${bias ? 'bias' : 'nobias'}`, ROWS_FORWARD, WG, () => ({
    body: SRC.rowsForward,
    consts: { TC: ['u32', tc], TC4: ['u32', tc / 4], PX: ['u32', px], TAPS: ['u32', kh * kw], HAS_BIAS: ['bool', !!bias] },
    types: { OutT: vecOut ? 'vec4<f32>' : 'f32' },
    slots: {
      STORE_QUAD: vecOut ? 'Out[base / 4u] = r;' : STORE_QUAD_SCALAR,
      BODY: rowsForwardBody(kh, kw, px, tc, layout.windowVec4s),
    },
  }));
  const nSegs = n * dstH * layout.segsPerRow;
  const groupsX = Math.ceil(nSegs / WG);
  const foldX = Math.min(groupsX, runtime().ctx.limits.maxComputeWorkgroupsPerDimension);
  const values = { nSegs, segsPerRow: layout.segsPerRow, foldX, blocksPerGroup, srcC, srcHp: layout.hp, srcWp4: layout.wp / 4, cs, dstC, dstH, dstW, cd };
  // Without a bias, the padded source fills its (read-only) slot; the kernel never reads it.
  run(k, [padded, packed, y, bias ?? padded], values, [foldX, geo.groups * blocksPerGroup, Math.ceil(groupsX / foldX)], op);
  if (padded !== src) padded.dispose();
  packed.dispose();
  return y;
}

/** Component `i` of a window held in vec4 registers `${name}0`, `${name}1`, … */
const windowAt = (name: string, i: number) => `${name}${i >> 2}.${'xyzw'[i & 3]}`;

const STORE_QUAD_SCALAR = `Out[base] = r.x;
  if (ox0 + 1u < P.dstW) { Out[base + 1u] = r.y; }
  if (ox0 + 2u < P.dstW) { Out[base + 2u] = r.z; }
  if (ox0 + 3u < P.dstW) { Out[base + 3u] = r.w; }`;

/** One source channel of `rowsForward`: per kernel row one window load, per tap tc/4 weight vec4s. */
function rowsForwardBody(kh: number, kw: number, px: number, tc: number, windowVec4s: number): string {
  const lines: string[] = [];
  for (let ky = 0; ky < kh; ky++) {
    lines.push('{');
    lines.push(...range(windowVec4s).map((v) => `  let r${v} = Src[at + ${ky}u * P.srcWp4 + ${v}u];`));
    for (let kx = 0; kx < kw; kx++) {
      const t = ky * kw + kx;
      lines.push('  {');
      lines.push(...range(tc / 4).map((q) => `    let w${q} = Wp[wi + ${t * (tc / 4) + q}u];`));
      for (let h = 0; h < px / 4; h++) {
        const v = range(4).map((i) => windowAt('r', 4 * h + kx + i));
        lines.push(`    { let v = vec4<f32>(${v.join(', ')});`);
        for (let q = 0; q < tc / 4; q++) {
          lines.push('      ' + range(4).map((l) => `acc[${h * tc + 4 * q + l}] += v * w${q}.${'xyzw'[l]};`).join(' '));
        }
        lines.push('    }');
      }
      lines.push('  }');
    }
    lines.push('}');
  }
  return lines.join('\n    ');
}

/** dw by `rowsWeightGrad`: split-K over chunks of output row segments, the chunks summed after. */
export function rowsWeightGrad(op: string, x: Tensor, dy: Tensor, geo: Geometry, [kh, kw]: Pair): Tensor | null {
  const [, srcC] = x.shape;
  const [n, dstC, dstH, dstW] = dy.shape;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  const taps = kh * kw;
  const weightSize = dstC * cs * taps;
  const lanes = Math.min(64, 2 ** Math.ceil(Math.log2(cs)));
  const ciGroups = Math.ceil(cs / lanes);
  const tco = cd <= 4 ? 4 : ROWS_TCO;
  const coBlocks = Math.ceil(cd / tco);
  const tiles = geo.groups * coBlocks * ciGroups;
  const px = dstW <= 4 ? 4 : ROWS_GRAD_PX;
  const layout = paddedLayout([dstH, dstW], [kh, kw], px);
  if (!paddedFits(n * srcC, layout)) return null;
  const nSegs = n * dstH * layout.segsPerRow;
  const wantChunks = Math.ceil(ROWS_WEIGHT_GRAD_WORKGROUPS / tiles);
  const segsPerChunk = Math.min(maxLoopTrips(), Math.max(8, Math.ceil(nSegs / wantChunks)));
  const nChunks = Math.ceil(nSegs / segsPerChunk);
  const maxGroups = runtime().ctx.limits.maxComputeWorkgroupsPerDimension;
  if (tiles > maxGroups || nChunks > maxGroups) throw new ShapeError(op, `too many channels for one launch (${tiles} channel tiles)`, [x.shape, dy.shape]);
  const partials = out([nChunks, weightSize], 'f32', `${op}:partials`);
  if (!partials.size) return partials.view([dstC, cs, kh, kw]);
  const padded = padRows(op, x, layout.hp, layout.wp, geo.padding);
  // Rows a multiple of 4 long: a quad of output-gradient pixels is one aligned vec4 (~20% faster).
  const vecGrad = dstW % 4 === 0;
  const k = kernel(`conv2d:rowsWeightGrad:${kh}x${kw}:wg${lanes}:px${px}:tco${tco}:${vecGrad ? 'vec4' : 'scalar'}`, ROWS_WEIGHT_GRAD, lanes, () => ({
    body: SRC.rowsWeightGrad,
    consts: { PX: ['u32', px], TCO: ['u32', tco], TAPS: ['u32', taps] },
    types: { GradT: vecGrad ? 'vec4<f32>' : 'f32' },
    slots: {
      GRAD_QUAD: vecGrad ? 'return select(vec4<f32>(0.0), G[base / 4u], ox0 < P.dstW);' : GRAD_QUAD_SCALAR,
      CHANNELS: range(tco).map((j) => `let ch${j} = min(co0 + ${j}u, lastCo) * gPlane;`).join('\n  '),
      BODY: rowsWeightGradBody(kh, kw, px, tco, layout.windowVec4s),
    },
  }));
  const values = { nSegs, segsPerRow: layout.segsPerRow, segsPerChunk, coBlocks, ciGroups, cs, cd, srcC };
  run(k, [padded, dy, partials], { ...values, srcHp: layout.hp, srcWp4: layout.wp / 4, dstC, dstH, dstW, weightSize }, [tiles, nChunks, 1], op);
  if (padded !== x) padded.dispose();
  return sumChunks(partials, nChunks, [dstC, cs, kh, kw]);
}

const GRAD_QUAD_SCALAR = `let last = P.dstW - 1u - ox0;
  let v = vec4<f32>(G[base], G[base + min(1u, last)], G[base + min(2u, last)], G[base + min(3u, last)]);
  return select(vec4<f32>(0.0), v, vec4<u32>(ox0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(P.dstW));`;

/** One row segment of `rowsWeightGrad`: its output gradients, per kernel row one source window, the FMAs. */
function rowsWeightGradBody(kh: number, kw: number, px: number, tco: number, windowVec4s: number): string {
  const lines: string[] = [];
  for (let h = 0; h < px / 4; h++) {
    lines.push(...range(tco).map((j) => `let e${j}_${h} = gradQuad(ch${j} + gRow + ${4 * h}u, ox0 + ${4 * h}u);`));
  }
  // d{p}_{q}: output channels 4q .. 4q + 3 at pixel p.
  for (let p = 0; p < px; p++) {
    for (let q = 0; q < tco / 4; q++) {
      const g = range(4).map((l) => `e${4 * q + l}_${p >> 2}.${'xyzw'[p & 3]}`);
      lines.push(`let d${p}_${q} = vec4<f32>(${g.join(', ')});`);
    }
  }
  for (let ky = 0; ky < kh; ky++) {
    lines.push('{');
    lines.push(...range(windowVec4s).map((v) => `  let r${v} = Src[at + ${ky}u * P.srcWp4 + ${v}u];`));
    for (let kx = 0; kx < kw; kx++) {
      const t = ky * kw + kx;
      for (let p = 0; p < px; p++) {
        const terms = range(tco / 4).map((q) => `acc[${t * (tco / 4) + q}] += d${p}_${q} * ${windowAt('r', kx + p)};`);
        lines.push('  ' + terms.join(' '));
      }
    }
    lines.push('}');
  }
  return lines.join('\n    ');
}
