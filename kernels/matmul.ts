// Matrix multiply (batched, broadcast over leading dims, optional transposes) and `linear`.
// Two kernels (kernels/variant.ts): this file's register tiles for software adapters, and the
// workgroup-memory tiles of kernels/matmul-tiled.ts for GPUs.
// Cache key: the transpose flags and whether each operand can be loaded as vec4s (see kernelSpec).
// Sizes, batch strides, the K range, bias and accumulation flags travel in uniforms: bias and
// accumulation only touch the epilogue, where a uniform branch costs nothing measurable, so the
// bias is fused without a pipeline of its own (without one, `a` fills the read-only bias slot).
// Gradients are matmuls with transpose flags (no transposed copies), summed over broadcast batch
// dims with `sumTo`, so second derivatives work.
import source from '../shaders/matmul.wgsl';
import { record } from '../src/engine/autograd/graph.js';
import { broadcastShapes, broadcastStrides, fmtShape, numel, ShapeError, type Shape } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { LOOP_BUDGET } from './loop-budget.js';
import { MATMUL_PARAMS as PARAMS, MAX_BATCH_PER_DISPATCH, tiledMatmul } from './matmul-tiled.js';
import { sum, sumTo } from './reduce.js';
import { reshape } from './shape-ops.js';
import { gpuKernels } from './variant.js';

const SRC = sections(source);

/**
 * Register tile: each invocation computes TILE_ROWS × 4·TILE_VEC4_COLS outputs; WG invocations sit
 * side by side along N. Measured on llvmpipe at 1024³ (GFLOP/s; cold shader compile): 4×4 per
 * invocation on 64: 14 (0.2 s); 8×8 on 32: 26 (0.7 s); 16×8 on 32 or 8×16 on 16: 28 (1.9 s).
 * 8×8 on 32 keeps most of the speed, compiles 3× faster than the larger tiles (every layout is its
 * own pipeline), and a SIMD group of 8 lanes spans 64 columns, so narrow N wastes little.
 */
const TILE_ROWS = 8;
const TILE_VEC4_COLS = 2;
const WG = 32;
const TILE_N = WG * 4 * TILE_VEC4_COLS;

/**
 * K handled per dispatch: the K loop steps by 4, so an invocation loops K/4 = LOOP_BUDGET/2 times at
 * most, within the loop rule (kernels/loop-budget.ts) with room for the tail. Longer K runs as
 * accumulating dispatches (split-K) on every adapter: on a GPU that is one more dispatch per 65,536.
 */
export const MATMUL_K_CHUNK = 2 * LOOP_BUDGET;

export interface MatmulOptions {
  /** `a` is stored [..., K, M] and used transposed. */
  transA?: boolean;
  /** `b` is stored [..., N, K] and used transposed. */
  transB?: boolean;
}

interface Dims {
  batch: number[];
  M: number;
  K: number;
  N: number;
}

function checkOperands(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Dims {
  for (const t of [a, b]) {
    if (t.dtype !== 'f32') throw new ShapeError(op, `expects f32 tensors, got ${t.dtype}`, [a.shape, b.shape]);
    if (t.rank < 2) throw new ShapeError(op, 'operands need rank ≥ 2 ([..., rows, cols])', [a.shape, b.shape]);
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) {
    const flags = `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}`;
    throw new ShapeError(op, `inner dimensions differ for ${flags}: ${K} vs ${Kb}`, [a.shape, b.shape]);
  }
  const batch = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (batch.length > 8) throw new ShapeError(op, 'more than 8 batch dimensions', [a.shape, b.shape]);
  return { batch, M, K, N };
}

const range = (n: number) => [...Array(n).keys()];

/**
 * The shader for one layout. vec4 loads need the stored rows a multiple of 4 long; the loaders and
 * index expressions (the transposes) are the cache key. The unrolled tile statements are generated
 * here so that the tile size is one constant.
 */
function tileKernel(transA: boolean, transB: boolean, K: number, M: number, N: number) {
  const aVec = (transA ? M : K) % 4 === 0;
  const bVec = (transB ? K : N) % 4 === 0;
  const aLoader = aVec ? (transA ? 'aColsVec' : 'aRowsVec') : 'aScalar';
  const bLoader = bVec ? (transB ? 'bColsVec' : 'bRowsVec') : 'bScalar';
  const rows = range(TILE_ROWS);
  const cols = range(TILE_VEC4_COLS);
  const acc = (r: number, c: number) => `acc${r}_${c}`;
  const lines = (xs: string[], indent: string) => xs.map((x) => indent + x).join('\n');
  const each = (f: (r: number, c: number) => string) => rows.flatMap((r) => cols.map((c) => f(r, c)));
  const step = [
    ...range(TILE_ROWS / 4).map((q) => `let a${q} = aTile(aBase, m0 + ${4 * q}u, k);`),
    ...cols.map((c) => `let b${c} = bTile(bBase, k, n0 + ${4 * c}u);`),
    ...each((r, c) => `${acc(r, c)} += b${c} * a${r >> 2}[${r & 3}];`),
  ];
  const tail = [
    ...cols.map((c) => `let t${c} = bRow(bBase, k, n0 + ${4 * c}u);`),
    ...rows.map((r) => `let x${r} = aAt(aBase + aIndex(min(m0 + ${r}u, last), k));`),
    ...each((r, c) => `${acc(r, c)} += x${r} * t${c};`),
  ];
  return kernel(`matmul:${aLoader},${bLoader}:${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`, PARAMS, WG, () => ({
    body: SRC.main + SRC[aLoader] + SRC[bLoader],
    consts: { TM: ['u32', TILE_ROWS], TC: ['u32', TILE_VEC4_COLS], TRANS_A: ['bool', transA], TRANS_B: ['bool', transB] },
    slots: {
      DECLARE: lines(each((r, c) => `var ${acc(r, c)} = vec4<f32>(0.0);`), '  '),
      STEP: lines(step, '    '),
      TAIL: lines(tail, '    '),
      STORE: lines(each((r, c) => `emit(outBase, m0 + ${r}u, n0 + ${4 * c}u, ${acc(r, c)});`), '  '),
    },
  }));
}

/** The kernel without autograd: op(a)·op(b) (+ bias[N]). */
function matmulKernel(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean, bias?: Tensor): Tensor {
  const { batch, M, K, N } = checkOperands(op, a, b, transA, transB);
  // A rank-2 right operand is shared by every batch entry: fold the batch into M (one big GEMM).
  if (b.rank === 2 && a.rank > 2 && !transA) {
    const a2 = a.view([numel(a.shape.slice(0, -1)), K]);
    const y2 = matmulKernel(op, a2, b, false, transB, bias);
    a2.dispose();
    const y = y2.view([...batch, M, N]);
    y2.dispose();
    return y;
  }
  const y = out([...batch, M, N], 'f32', op);
  const nBatch = numel(batch);
  if (y.size === 0) return y;

  const aStrides = broadcastStrides(a.shape.slice(0, -2), batch).map((s) => s * M * K);
  const bStrides = broadcastStrides(b.shape.slice(0, -2), batch).map((s) => s * K * N);
  if (gpuKernels()) {
    tiledMatmul(op, a, b, y, transA, transB, bias, { batch, M, K, N, aStrides, bStrides });
    return y;
  }
  const k = tileKernel(transA, transB, K, M, N);
  const tilesN = Math.ceil(N / TILE_N);
  const tiles = tilesN * Math.ceil(M / TILE_ROWS);
  const [gx, gy] = grid1d(tiles, 1);
  // K = 0 still runs one pass: the output is the bias (or zeros).
  for (let kBegin = 0; kBegin < Math.max(K, 1); kBegin += MATMUL_K_CHUNK) {
    const kEnd = Math.min(K, kBegin + MATMUL_K_CHUNK);
    const first = kBegin === 0;
    for (let base = 0; base < nBatch; base += MAX_BATCH_PER_DISPATCH) {
      const values = { M, N, K, kBegin, kEnd, accumulate: first ? 0 : 1, hasBias: first && bias ? 1 : 0, tilesN, tiles };
      const batchValues = { batchRank: batch.length, batchBase: base, batchShape: batch, aBatchStride: aStrides, bBatchStride: bStrides };
      run(k, [a, b, bias ?? a, y], { ...values, ...batchValues }, [gx, gy, Math.min(MAX_BATCH_PER_DISPATCH, nBatch - base)], op);
    }
  }
  return y;
}

/**
 * op(a) · op(b) over the last two dims, where op transposes when its flag is set: a is [..., M, K]
 * (or [..., K, M] with transA), b is [..., K, N] (or [..., N, K] with transB). Leading batch dims
 * broadcast (NumPy rules); the result is [...batch, M, N].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const y = matmulKernel('matmul', a, b, transA, transB);
  return record(y, 'matmul', [a, b], [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(gradA(g, sb, transA, transB), a.shape) : null,
    b.requiresGrad ? gradB(g, sa, sb.shape, transA, transB) : null,
  ]);
}

/** d op(A) = G·op(B)ᵀ; stored transposed when transA: dA = op(B)·Gᵀ. */
function gradA(g: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
}

/** d op(B) = op(A)ᵀ·G; stored transposed when transB: dB = Gᵀ·op(A). Summed over broadcast dims. */
function gradB(g: Tensor, a: Tensor, bShape: Shape, transA: boolean, transB: boolean): Tensor {
  // A shared rank-2 B with an untransposed batched A (the `x · W` of a layer): fold the batch into
  // the rows so one GEMM sums over it, instead of a batched product and a reduction.
  if (bShape.length === 2 && a.rank > 2 && !transA) {
    const a2 = reshape(a, [-1, a.shape[a.rank - 1]]);
    const g2 = reshape(g, [-1, g.shape[g.rank - 1]]);
    return transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
  }
  const full = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
  return sumTo(full, bShape);
}

/**
 * PyTorch's `F.linear`: x [..., in] · weightᵀ (+ bias), weight [out, in], bias [out] → [..., out].
 * The bias is added in the matmul's epilogue.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const op = 'linear';
  if (weight.rank !== 2) throw new ShapeError(op, 'weight must be [out, in]', [x.shape, weight.shape]);
  if (x.rank < 1) throw new ShapeError(op, 'input needs rank ≥ 1 ([..., in])', [x.shape, weight.shape]);
  const [outF, inF] = weight.shape;
  if (x.shape[x.rank - 1] !== inF) {
    throw new ShapeError(op, `input features ${x.shape[x.rank - 1]} do not match weight [out, in] = ${fmtShape(weight.shape)}`, [x.shape, weight.shape]);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new ShapeError(op, `bias must be [${outF}]`, [x.shape, weight.shape, bias.shape]);
  }
  const rows = numel(x.shape.slice(0, -1));
  const x2 = x.view([rows, inF]);
  const y2 = matmulKernel(op, x2, weight, false, true, bias);
  x2.dispose();
  const y = y2.view([...x.shape.slice(0, -1), outF]);
  y2.dispose();
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, op, inputs, [x, weight], (g, [sx, sw]) => {
    const g2 = reshape(g, [rows, outF]);
    return [
      x.requiresGrad ? reshape(matmul(g2, sw), x.shape) : null,
      weight.requiresGrad ? matmul(g2, reshape(sx, [rows, inF]), { transA: true }) : null,
      bias?.requiresGrad ? sum(g2, 0) : null,
    ];
  });
}
