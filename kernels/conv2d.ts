// 2-D convolution (NCHW, PyTorch semantics and weight layouts): conv2d and convTranspose2d.
//
// Three primitive ops, each differentiable in terms of the others so that second derivatives work
// (StyleGAN2's R1 penalty):
//   y = conv(x, w)            → dx = convInputGrad(dy, w),  dw = convWeightGrad(x, dy)
//   z = convInputGrad(g, w)   → dg = conv(dz, w),           dw = convWeightGrad(dz, g)
//   v = convWeightGrad(x, g)  → dx = convInputGrad(g, dv),  dg = conv(x, dv)
// convTranspose2d is convInputGrad with x in the role of dy. conv and convInputGrad share one shader
// (`gather`, forward or transposed coordinates; at stride 1 the input gradient runs as a forward
// convolution with the kernel flipped); convWeightGrad is split-K with a second pass summing the
// partials (its K = N·Ho·Wo easily passes llvmpipe's 65,535-iteration loop cap). Stride 1 without
// dilation (all of a UNet) takes a faster path over a zero-padded copy of the source (`rows…`); so
// does convInputGrad at stride > 1, as a stride-1 convolution over the zero-inserted source.
// Cache keys: coordinates, kernel size, channel tile and bias (all change the WGSL); shapes are uniforms.
import source from '../shaders/conv2d.wgsl';
import { noGrad, record } from '../src/engine/autograd/graph.js';
import { runtime } from '../src/engine/gpu/runtime.js';
import { tidy } from '../src/engine/tensor/scope.js';
import { fmtShape, ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { fill, grid1d, out, Params, run, sections } from './common.js';
import { sum } from './reduce.js';
import { flip, permute, reshape } from './shape-ops.js';
import { upfirdn2d, type Pad4 } from './upfirdn2d.js';

const SRC = sections(source);

type Pair = [number, number];

export interface Conv2dOptions {
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns on the bottom/right of the output (must be < stride or < dilation). */
  outputPadding?: number | Pair;
}

/** The convolution both directions share: x [N, Cin, H, W] ↔ y [N, Cout, Ho, Wo]. */
interface Geometry {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
}

/**
 * llvmpipe silently ends a shader invocation's loops after 65,535 iterations in total (measured: the
 * count is per invocation and shared by all loops in it); stay well below.
 */
const LOOP_BUDGET = 60000;
/** Invocations per weight-gradient launch worth aiming for (split-K chunks fill the rest). */
const WEIGHT_GRAD_PARALLELISM = 2048;

// ---------------------------------------------------------------------------------------------
// Public ops

/** PyTorch's conv2d: x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout] → [N, Cout, Ho, Wo]. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const geo = geometry('conv2d', opts);
  checkOperands('conv2d', x, w, bias);
  const [, cin, h, wd] = x.shape;
  const [cout, cinG, kh, kw] = w.shape;
  if (cinG * geo.groups !== cin) {
    throw new ShapeError('conv2d', `weight expects ${cinG * geo.groups} input channels (${cinG} per group × ${geo.groups} groups), input has ${cin}`, [x.shape, w.shape]);
  }
  checkGroups('conv2d', cout, 'output', geo.groups, [x.shape, w.shape]);
  checkBias('conv2d', bias, cout, [x.shape, w.shape]);
  const ho = convOutSize(h, kh, geo, 0);
  const wo = convOutSize(wd, kw, geo, 1);
  if (ho < 1 || wo < 1) {
    throw new ShapeError('conv2d', `the kernel (dilated) does not fit the padded input: output would be ${ho}×${wo}`, [x.shape, w.shape]);
  }
  return conv(x, w, bias ?? null, geo, [ho, wo]);
}

/**
 * PyTorch's conv_transpose2d: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw], bias [Cout] →
 * [N, Cout, (H−1)·s − 2p + d·(k−1) + outputPadding + 1, …].
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const geo = geometry('convTranspose2d', opts);
  const outPad = pair('convTranspose2d', 'outputPadding', opts.outputPadding ?? 0, 0);
  checkOperands('convTranspose2d', x, w, bias);
  const [, cin, h, wd] = x.shape;
  const [wCin, coutG, kh, kw] = w.shape;
  if (wCin !== cin) {
    throw new ShapeError('convTranspose2d', `weight expects ${wCin} input channels, input has ${cin}`, [x.shape, w.shape]);
  }
  checkGroups('convTranspose2d', cin, 'input', geo.groups, [x.shape, w.shape]);
  checkBias('convTranspose2d', bias, coutG * geo.groups, [x.shape, w.shape]);
  for (const a of [0, 1] as const) {
    if (outPad[a] >= Math.max(geo.stride[a], geo.dilation[a])) {
      throw new ShapeError('convTranspose2d', `outputPadding ${outPad[a]} must be smaller than stride or dilation`, [x.shape, w.shape]);
    }
  }
  const size = (n: number, k: number, a: 0 | 1) => (n - 1) * geo.stride[a] - 2 * geo.padding[a] + geo.dilation[a] * (k - 1) + outPad[a] + 1;
  const [ho, wo] = [size(h, kh, 0), size(wd, kw, 1)];
  if (ho < 1 || wo < 1) throw new ShapeError('convTranspose2d', `output would be ${ho}×${wo}`, [x.shape, w.shape]);
  return convInputGrad(x, w, bias ?? null, geo, [ho, wo]);
}

/**
 * The input gradient of conv2d as an op of its own (torch.nn.grad.conv2d_input): dx [N, Cin, H, W] of
 * conv2d(x, w, opts) given dy [N, Cout, Ho, Wo]; differentiable.
 */
export function conv2dInputGrad(dy: Tensor, w: Tensor, inputShape: Shape, opts: Conv2dOptions = {}): Tensor {
  const geo = geometry('conv2dInputGrad', opts);
  checkOperands('conv2dInputGrad', dy, w, null);
  const [n, cin, h, wd] = inputShape;
  const [cout, cinG, kh, kw] = w.shape;
  const want = [n, cout, convOutSize(h, kh, geo, 0), convOutSize(wd, kw, geo, 1)];
  if (inputShape.length !== 4 || cinG * geo.groups !== cin || dy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError('conv2dInputGrad', `dy must be ${fmtShape(want)} for input ${fmtShape(inputShape)} and this weight`, [dy.shape, w.shape]);
  }
  checkGroups('conv2dInputGrad', cout, 'output', geo.groups, [dy.shape, w.shape]);
  return convInputGrad(dy, w, null, geo, [h, wd]);
}

/**
 * The weight gradient of conv2d as an op of its own (torch.nn.grad.conv2d_weight): dw of
 * conv2d(x, w, opts) given dy, shaped `weightShape` = [Cout, Cin/groups, kh, kw]; differentiable.
 */
export function conv2dWeightGrad(x: Tensor, dy: Tensor, weightShape: Shape, opts: Conv2dOptions = {}): Tensor {
  const geo = geometry('conv2dWeightGrad', opts);
  checkOperands('conv2dWeightGrad', x, dy, null);
  const [n, cin, h, wd] = x.shape;
  const [cout, cinG, kh, kw] = weightShape;
  const want = [n, cout, convOutSize(h, kh, geo, 0), convOutSize(wd, kw, geo, 1)];
  if (weightShape.length !== 4 || cinG * geo.groups !== cin || dy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError('conv2dWeightGrad', `dy must be ${fmtShape(want)} for input ${fmtShape(x.shape)} and weight ${fmtShape(weightShape)}`, [x.shape, dy.shape]);
  }
  checkGroups('conv2dWeightGrad', cout, 'output', geo.groups, [x.shape, dy.shape]);
  return convWeightGrad(x, dy, geo, [kh, kw]);
}

// ---------------------------------------------------------------------------------------------
// The three primitives and their gradients

function conv(x: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, outHW: Pair): Tensor {
  const [n, , h, wd] = x.shape;
  const [cout, , kh, kw] = w.shape;
  const y = gather('conv2d', 'forward', x, w, bias, geo, [n, cout, ...outHW]);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(y, 'conv2d', inputs, [x, w], (g, [sx, sw]) => [
    x.requiresGrad ? convInputGrad(g, sw, null, geo, [h, wd]) : null,
    w.requiresGrad ? convWeightGrad(sx, g, geo, [kh, kw]) : null,
    bias?.requiresGrad ? sum(g, [0, 2, 3]) : null,
  ]);
}

/** dx of conv(x, w) given dy (also the transposed convolution of dy); w [Cdy, Cdx/groups, kh, kw]. */
function convInputGrad(dy: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, outHW: Pair): Tensor {
  const [n, , ho, wo] = dy.shape;
  const [, cdxG, kh, kw] = w.shape;
  const z = stridedWithoutDilation(geo)
    ? noGrad(() => zeroInsertedConv(dy, w, bias, geo, outHW))
    : gather('convInputGrad', 'transposed', dy, w, bias, geo, [n, cdxG * geo.groups, ...outHW]);
  const inputs = bias ? [dy, w, bias] : [dy, w];
  return record(z, 'convInputGrad', inputs, [dy, w], (dz, [sdy, sw]) => [
    dy.requiresGrad ? conv(dz, sw, null, geo, [ho, wo]) : null,
    w.requiresGrad ? convWeightGrad(dz, sdy, geo, [kh, kw]) : null,
    bias?.requiresGrad ? sum(dz, [0, 2, 3]) : null,
  ]);
}

/**
 * The value of convInputGrad at stride s > 1 (dilation 1): a stride-1 conv2d over the zero-inserted
 * dy, padded by k−1−p before and to `outHW` after (negative: cropped), with the weight's in/out
 * channels swapped per group and its taps flipped. s² times the multiply-adds of the direct
 * transposed kernel, but on the stride-1 fast path (`rowsForward`): ~2× faster at StyleGAN2's
 * shapes. Only the value: convInputGrad records the gradient with the direct primitives, whose
 * weight gradient does not pay for the inserted zeros.
 */
function zeroInsertedConv(dy: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, outHW: Pair): Tensor {
  const [, , h, wd] = dy.shape;
  const [wCin, coutG, kh, kw] = w.shape;
  const g = geo.groups;
  // upfirdn2d's up-sampling gives n·s pixels per axis; the trailing pad makes the conv's output `outHW`.
  const before = (k: number, a: 0 | 1) => k - 1 - geo.padding[a];
  const after = (n: number, k: number, a: 0 | 1) => outHW[a] + k - 1 - n * geo.stride[a] - before(k, a);
  const padding: Pad4 = [before(kw, 1), after(wd, kw, 1), before(kh, 0), after(h, kh, 0)];
  return tidy(() => {
    const zeroInserted = upfirdn2d(dy, null, { up: [geo.stride[1], geo.stride[0]], padding });
    const swapped = permute(reshape(w, [g, wCin / g, coutG, kh, kw]), [0, 2, 1, 3, 4]);
    const wConv = flip(reshape(swapped, [g * coutG, wCin / g, kh, kw]), [2, 3]);
    return conv2d(zeroInserted, wConv, bias, { groups: g });
  });
}

/** dw of conv(x, w) given dy: [Cdy, Cx/groups, kh, kw]. */
function convWeightGrad(x: Tensor, dy: Tensor, geo: Geometry, kernel: Pair): Tensor {
  const [, , h, wd] = x.shape;
  const [, , ho, wo] = dy.shape;
  const v = weightGradKernel(x, dy, geo, kernel);
  return record(v, 'convWeightGrad', [x, dy], [x, dy], (dv, [sx, sdy]) => [
    x.requiresGrad ? convInputGrad(sdy, dv, null, geo, [h, wd]) : null,
    dy.requiresGrad ? conv(sx, dv, null, geo, [ho, wo]) : null,
  ]);
}

// ---------------------------------------------------------------------------------------------
// Launchers

/**
 * Output [N, Cd, Hd, Wd] gathered from `src` [N, Cs, Hs, Ws] through `w`. Forward (conv): w is
 * [Cd, Cs/groups, kh, kw]. Transposed (input gradient): w is [Cs, Cd/groups, kh, kw].
 */
function gather(op: string, mode: 'forward' | 'transposed', src: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, dstShape: Shape): Tensor {
  // At stride 1 a transposed convolution is a forward one with the kernel flipped and padding
  // d·(k−1) − p, which skips the transposed coordinates' divisibility tests.
  const flip = mode === 'transposed' && geo.stride[0] === 1 && geo.stride[1] === 1;
  if (flip) {
    const [kh, kw] = w.shape.slice(2);
    const padding: Pair = [geo.dilation[0] * (kh - 1) - geo.padding[0], geo.dilation[1] * (kw - 1) - geo.padding[1]];
    geo = { ...geo, padding };
  }
  const forwardCoords = mode === 'forward' || flip;
  const [n, srcC, srcH, srcW] = src.shape;
  const [, dstC, dstH, dstW] = dstShape;
  const [, , kh, kw] = w.shape;
  const taps = kh * kw;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  if (forwardCoords && unitStrideAndDilation(geo)) {
    const y = rowsGather(op, src, w, bias, geo, dstShape, flip);
    if (y) return y;
  }
  const coords = forwardCoords ? 'coordForward4' : 'coordTransposed4';
  checkLoopBudget(op, cs * (1 + kh * (1 + kw)), [src.shape, w.shape]);
  // 16 output channels per invocation amortise each input load over 16 vec4 FMAs (measured faster
  // than 8 on llvmpipe at the UNet's shapes); fewer where the group has fewer.
  const tc = cd <= 4 ? 4 : cd <= 8 ? 8 : 16;
  const blocksPerGroup = Math.ceil(cd / tc);
  const blocks = geo.groups * blocksPerGroup;
  const y = out(dstShape, 'f32', op);
  if (!y.size) return y;

  const packed = packWeights(op, w, mode === 'transposed', flip, cs, cd, tc, geo.groups);

  const spec = {
    key: `conv2d:gather:${coords}:${kh}x${kw}:tc${tc}:${bias ? 'bias' : 'nobias'}`,
    source: () =>
      fill(SRC.gather, {
        KH: kh,
        KW: kw,
        TC: tc,
        TC4: tc / 4,
        COORD: coords,
        BIAS_BINDING: bias ? '@group(0) @binding(4) var<storage, read> Bias: array<f32>;' : '',
        BIAS: bias ? 'vec4<f32>(Bias[channel])' : 'vec4<f32>(0.0)',
        ACC_DECL: `var acc: array<vec4<f32>, ${tc}>;`,
        FMA: gatherFma(tc),
        STORE: range(tc).map((j) => `storeQuad(n, g, d0 + ${j}u, oy, ox0, acc[${j}]);`).join('\n  '),
      }),
  };
  const quadsPerRow = Math.ceil(dstW / 4);
  const nQuads = n * dstH * quadsPerRow;
  const groupsX = Math.ceil(nQuads / 64);
  const maxX = runtime().ctx.limits.maxComputeWorkgroupsPerDimension;
  const foldX = Math.min(groupsX, maxX);
  const p = new Params().u32(nQuads, quadsPerRow, foldX, blocksPerGroup, srcC, srcH, srcW, cs, dstC, dstH, dstW, cd);
  p.i32(geo.stride[0], geo.stride[1], geo.padding[0], geo.padding[1], geo.dilation[0], geo.dilation[1]);
  const tensors = bias ? [src, packed, y, bias] : [src, packed, y];
  run(spec, tensors, p, [foldX, blocks, Math.ceil(groupsX / foldX)], op);
  packed.dispose();
  return y;
}

/**
 * The weights as Packed[block][s][tap][j] (see the shader): tc destination channels of one tap
 * contiguous. Forward w is [Cd, Cs/groups, kh, kw]; transposed w is [Cs, Cd/groups, kh, kw].
 */
function packWeights(op: string, w: Tensor, transposed: boolean, flip: boolean, cs: number, cd: number, tc: number, groups: number): Tensor {
  const taps = w.shape[2] * w.shape[3];
  const blocksPerGroup = Math.ceil(cd / tc);
  // Weight of (destination channel d, source channel s) of group g lies at g·groupStride + d·dStride + s·sStride.
  const [dStride, sStride] = transposed ? [taps, cd * taps] : [cs * taps, taps];
  const packed = out([groups * blocksPerGroup * cs * taps * tc], 'f32', `${op}:packed-weights`);
  const spec = { key: 'conv2d:packWeights', source: () => SRC.packWeights };
  const p = new Params().u32(packed.size, tc, taps, cs, cd, blocksPerGroup, cs * cd * taps, dStride, sStride, flip ? 1 : 0);
  run(spec, [w, packed], p, grid1d(packed.size, 256), op);
  return packed;
}

/** The FMAs of one tap: 4 pixels (v) × tc channels, weights read as tc/4 vec4s. */
function gatherFma(tc: number): string {
  const lines: string[] = [];
  for (let q = 0; q < tc / 4; q++) {
    lines.push(`let w${q} = Wp[wi + ${q}u];`);
    ['x', 'y', 'z', 'w'].forEach((lane, i) => lines.push(`acc[${4 * q + i}] += v * w${q}.${lane};`));
  }
  return lines.join('\n        ');
}

/** dw [Cdy, Cx/groups, kh, kw] of conv(x, w) given dy, by split-K over the pixels of dy. */
function weightGradKernel(x: Tensor, dy: Tensor, geo: Geometry, [kh, kw]: Pair): Tensor {
  const op = 'convWeightGrad';
  if (unitStrideAndDilation(geo) && x.shape[1] / geo.groups >= ROWS_MIN_LANES) {
    const v = rowsWeightGrad(op, x, dy, geo, [kh, kw]);
    if (v) return v;
  }
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
  const quadsPerChunk = Math.max(1, Math.min(LOOP_BUDGET, Math.max(64, Math.ceil(nQuads / wantChunks))));
  const nChunks = Math.max(1, Math.ceil(nQuads / quadsPerChunk));
  const partials = out([nChunks, weightSize], 'f32', `${op}:partials`);
  if (!partials.size) return partials.view([dstC, cs, kh, kw]);
  const spec = {
    key: `conv2d:weightGrad:${kh}x${kw}`,
    source: () =>
      fill(SRC.weightGrad, {
        KH: kh,
        KW: kw,
        TAPS: taps,
        ACC_LEN: 4 * taps,
        TAP_BODY: weightGradTaps(kh, kw),
        STORE: weightGradStore(taps),
      }),
  };
  const p = new Params().u32(nTiles, nChunks, quadsPerChunk, nQuads, quadsPerRow, coBlocks, cs, cd);
  p.u32(srcC, srcH, srcW, dstC, dstH, dstW, weightSize, 0);
  p.i32(geo.stride[0], geo.stride[1], geo.padding[0], geo.padding[1], geo.dilation[0], geo.dilation[1]);
  run(spec, [x, dy, partials], p, grid1d(nTiles * nChunks, 64), op);
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

function weightGradStore(taps: number): string {
  return range(4)
    .map((c) => {
      const stores = range(taps).map((t) => `Out[outBase + ${c}u * P.cs * TAPS + ${t}u] = dot(acc[${c * taps + t}], ones);`);
      return `if (co0 + ${c}u < P.cd) {\n    ${stores.join('\n    ')}\n  }`;
    })
    .join('\n  ');
}

// ---------------------------------------------------------------------------------------------
// Stride 1, dilation 1: padded rows (see the shader's header)

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
const ROWS_MIN_LANES = 8;
/** Workgroups per weight-gradient launch worth aiming for (2 threads; more balance the load). */
const ROWS_WEIGHT_GRAD_WORKGROUPS = 64;

const unitStrideAndDilation = (geo: Geometry) => geo.stride[0] === 1 && geo.stride[1] === 1 && geo.dilation[0] === 1 && geo.dilation[1] === 1;
const stridedWithoutDilation = (geo: Geometry) => (geo.stride[0] > 1 || geo.stride[1] > 1) && geo.dilation[0] === 1 && geo.dilation[1] === 1;

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
    const spec = { key: 'conv2d:padRowsVec4', source: () => SRC.padRowsVec4 };
    run(spec, [src, padded], new Params().u32(count, hp, wp, segsPerRow, h, w).i32(pad[0], pad[1]), grid1d(count, 64), op);
    return padded;
  }
  const spec = { key: 'conv2d:padRows', source: () => SRC.padRows };
  run(spec, [src, padded], new Params().u32(padded.size, hp, wp, h, w).i32(pad[0], pad[1]), grid1d(padded.size, 256), op);
  return padded;
}

/** `gather` at stride 1 without dilation: `rowsForward` over the padded source. */
function rowsGather(op: string, src: Tensor, w: Tensor, bias: Tensor | null, geo: Geometry, dstShape: Shape, flip: boolean): Tensor | null {
  const [n, srcC] = src.shape;
  const [, dstC, dstH, dstW] = dstShape;
  const [, , kh, kw] = w.shape;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  checkLoopBudget(op, cs, [src.shape, w.shape]);
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
  const spec = {
    key: `conv2d:rowsForward:${kh}x${kw}:px${px}:${vecOut ? 'vec4' : 'scalar'}:${bias ? 'bias' : 'nobias'}`,
    source: () =>
      fill(SRC.rowsForward, {
        OUT_TYPE: vecOut ? 'vec4<f32>' : 'f32',
        STORE_QUAD: vecOut ? 'Out[base / 4u] = r;' : STORE_QUAD_SCALAR,
        TC: tc,
        TC4: tc / 4,
        PX: px,
        TAPS: kh * kw,
        BIAS_BINDING: bias ? '@group(0) @binding(4) var<storage, read> Bias: array<f32>;' : '',
        BIAS: bias ? 'vec4<f32>(Bias[channel])' : 'vec4<f32>(0.0)',
        ACC_DECL: `var acc: array<vec4<f32>, ${(px / 4) * tc}>;`,
        BODY: rowsForwardBody(kh, kw, px, tc, layout.windowVec4s),
        STORE: range(px / 4)
          .flatMap((h) => range(tc).map((j) => `storeQuad(n, g, d0 + ${j}u, oy, ox0 + ${4 * h}u, acc[${h * tc + j}]);`))
          .join('\n  '),
      }),
  };
  const nSegs = n * dstH * layout.segsPerRow;
  const groupsX = Math.ceil(nSegs / 64);
  const foldX = Math.min(groupsX, runtime().ctx.limits.maxComputeWorkgroupsPerDimension);
  const p = new Params().u32(nSegs, layout.segsPerRow, foldX, blocksPerGroup, srcC, layout.hp, layout.wp / 4, cs, dstC, dstH, dstW, cd);
  const tensors = bias ? [padded, packed, y, bias] : [padded, packed, y];
  run(spec, tensors, p, [foldX, geo.groups * blocksPerGroup, Math.ceil(groupsX / foldX)], op);
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
function rowsWeightGrad(op: string, x: Tensor, dy: Tensor, geo: Geometry, [kh, kw]: Pair): Tensor | null {
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
  const segsPerChunk = Math.min(LOOP_BUDGET, Math.max(8, Math.ceil(nSegs / wantChunks)));
  const nChunks = Math.ceil(nSegs / segsPerChunk);
  const maxGroups = runtime().ctx.limits.maxComputeWorkgroupsPerDimension;
  if (tiles > maxGroups || nChunks > maxGroups) throw new ShapeError(op, `too many channels for one launch (${tiles} channel tiles)`, [x.shape, dy.shape]);
  const partials = out([nChunks, weightSize], 'f32', `${op}:partials`);
  if (!partials.size) return partials.view([dstC, cs, kh, kw]);
  const padded = padRows(op, x, layout.hp, layout.wp, geo.padding);
  const tco4 = tco / 4;
  // Rows a multiple of 4 long: a quad of output-gradient pixels is one aligned vec4 (~20% faster).
  const vecGrad = dstW % 4 === 0;
  const spec = {
    key: `conv2d:rowsWeightGrad:${kh}x${kw}:wg${lanes}:px${px}:tco${tco}:${vecGrad ? 'vec4' : 'scalar'}`,
    source: () =>
      fill(SRC.rowsWeightGrad, {
        G_TYPE: vecGrad ? 'vec4<f32>' : 'f32',
        GRAD_QUAD: vecGrad ? 'return select(vec4<f32>(0.0), G[base / 4u], ox0 < P.dstW);' : GRAD_QUAD_SCALAR,
        WG: lanes,
        PX: px,
        TCO: tco,
        TAPS: taps,
        ACC_LEN: taps * tco4,
        CHANNELS: range(tco).map((j) => `let ch${j} = min(co0 + ${j}u, lastCo) * gPlane;`).join('\n  '),
        BODY: rowsWeightGradBody(kh, kw, px, tco, layout.windowVec4s),
        STORE: range(tco)
          .map((j) => `if (co0 + ${j}u < P.cd) {\n    ${range(taps).map((t) => `Out[outBase + ${j}u * coStride + ${t}u] = acc[${t * tco4 + (j >> 2)}].${'xyzw'[j & 3]};`).join('\n    ')}\n  }`)
          .join('\n  '),
      }),
  };
  const p = new Params().u32(nSegs, layout.segsPerRow, segsPerChunk, coBlocks, ciGroups, cs, cd, srcC);
  p.u32(layout.hp, layout.wp / 4, dstC, dstH, dstW, weightSize);
  run(spec, [padded, dy, partials], p, [tiles, nChunks, 1], op);
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

// ---------------------------------------------------------------------------------------------
// Options and checks

function pair(op: string, name: string, v: number | Pair, min: number): Pair {
  const p: Pair = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) throw new ShapeError(op, `${name} must be integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return p;
}

function geometry(op: string, opts: Conv2dOptions): Geometry {
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(op, `groups must be a positive integer, got ${groups}`);
  return {
    stride: pair(op, 'stride', opts.stride ?? 1, 1),
    padding: pair(op, 'padding', opts.padding ?? 0, 0),
    dilation: pair(op, 'dilation', opts.dilation ?? 1, 1),
    groups,
  };
}

function checkOperands(op: string, x: Tensor, w: Tensor, bias: Tensor | null | undefined): void {
  for (const t of [x, w, bias]) {
    if (t && t.dtype !== 'f32') throw new ShapeError(op, `expects f32 tensors, got ${t.dtype}`, [t.shape]);
  }
  if (x.rank !== 4 || w.rank !== 4) throw new ShapeError(op, 'expects a 4-D input [N, C, H, W] and a 4-D weight', [x.shape, w.shape]);
}

function checkGroups(op: string, channels: number, which: string, groups: number, shapes: Shape[]): void {
  if (channels % groups) throw new ShapeError(op, `${channels} ${which} channels do not divide into ${groups} groups`, shapes);
}

function checkBias(op: string, bias: Tensor | null | undefined, cout: number, shapes: Shape[]): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) {
    throw new ShapeError(op, `bias must be [${cout}], got ${fmtShape(bias.shape)}`, [...shapes, bias.shape]);
  }
}

function checkLoopBudget(op: string, iterations: number, shapes: Shape[]): void {
  if (runtime().ctx.isCpu && iterations > LOOP_BUDGET) {
    throw new ShapeError(op, `${iterations} loop iterations per invocation exceed the software adapter's cap (${LOOP_BUDGET}); too many channels per group`, shapes);
  }
}

function convOutSize(size: number, k: number, geo: Geometry, a: 0 | 1): number {
  return Math.floor((size + 2 * geo.padding[a] - geo.dilation[a] * (k - 1) - 1) / geo.stride[a]) + 1;
}

/** The weight gradient from split-K partials [chunks, |w|]: their sum (or the one chunk) as `shape`. */
function sumChunks(partials: Tensor, nChunks: number, shape: Shape): Tensor {
  const total = nChunks === 1 ? partials : sum(partials, 0);
  const v = total.view(shape);
  total.dispose();
  if (total !== partials) partials.dispose();
  return v;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
