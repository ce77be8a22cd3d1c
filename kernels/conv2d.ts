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
// partials (its K = N·Ho·Wo easily passes llvmpipe's 65,535-iteration loop cap).
// Cache keys: coordinates, kernel size, channel tile and bias (all change the WGSL); shapes are uniforms.
import source from '../shaders/conv2d.wgsl';
import { record } from '../src/autograd/node.js';
import { runtime } from '../src/gpu/runtime.js';
import { fmtShape, ShapeError, type Shape } from '../src/tensor/shape.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { fill, grid1d, out, Params, run, sections } from './common.js';
import { sum } from './reduce.js';

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
  const z = gather('convInputGrad', 'transposed', dy, w, bias, geo, [n, cdxG * geo.groups, ...outHW]);
  const inputs = bias ? [dy, w, bias] : [dy, w];
  return record(z, 'convInputGrad', inputs, [dy, w], (dz, [sdy, sw]) => [
    dy.requiresGrad ? conv(dz, sw, null, geo, [ho, wo]) : null,
    w.requiresGrad ? convWeightGrad(dz, sdy, geo, [kh, kw]) : null,
    bias?.requiresGrad ? sum(dz, [0, 2, 3]) : null,
  ]);
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
  const coords = mode === 'forward' || flip ? 'coordForward4' : 'coordTransposed4';
  const [n, srcC, srcH, srcW] = src.shape;
  const [, dstC, dstH, dstW] = dstShape;
  const [, , kh, kw] = w.shape;
  const taps = kh * kw;
  const cs = srcC / geo.groups;
  const cd = dstC / geo.groups;
  checkLoopBudget(op, cs * (1 + kh * (1 + kw)), [src.shape, w.shape]);
  // 16 output channels per invocation amortise each input load over 16 vec4 FMAs (measured faster
  // than 8 on llvmpipe at the UNet's shapes); fewer where the group has fewer.
  const tc = cd <= 4 ? 4 : cd <= 8 ? 8 : 16;
  const blocksPerGroup = Math.ceil(cd / tc);
  const blocks = geo.groups * blocksPerGroup;
  const y = out(dstShape, 'f32', op);
  if (!y.size) return y;

  // Weight of (destination channel d, source channel s) of group g lies at g·groupStride + d·dStride + s·sStride.
  const [dStride, sStride] = mode === 'forward' ? [cs * taps, taps] : [taps, cd * taps];
  const packed = out([blocks * cs * taps * tc], 'f32', `${op}:packed-weights`);
  const packSpec = { key: 'conv2d:packWeights', source: () => SRC.packWeights };
  const pp = new Params().u32(packed.size, tc, taps, cs, cd, blocksPerGroup, cs * cd * taps, dStride, sStride, flip ? 1 : 0);
  run(packSpec, [w, packed], pp, grid1d(packed.size, 256), op);

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
  if (nChunks === 1) {
    const v = partials.view([dstC, cs, kh, kw]);
    partials.dispose();
    return v;
  }
  const total = sum(partials, 0);
  partials.dispose();
  const v = total.view([dstC, cs, kh, kw]);
  total.dispose();
  return v;
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

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
