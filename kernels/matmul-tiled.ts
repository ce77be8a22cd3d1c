// matmul's GPU kernel (shaders/matmul-tiled.wgsl on the tile of shaders/tiled-gemm.wgsl), launched by
// kernels/matmul.ts where `gpuKernels()` (kernels/variant.ts) says so. All four layouts (NN, NT for
// every `linear`, TN for weight gradients, TT) load along their operands' stored rows, coalesced.
// Cache key: the tile, the two loaders (layout × vec4 or scalar); sizes, batch strides, the k range,
// bias and accumulation travel in uniforms, as in the software kernel.
import source from '../shaders/matmul-tiled.wgsl';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, run, sections } from './common.js';
import { LOOP_BUDGET, loopCapApplies } from './loop-budget.js';
import { GEMM_CORE, GEMM_WG, gemmConsts, gemmStaging, gemmTile, tileKey, tripsPerStep } from './tiled-gemm.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
/** Batch items per dispatch: the grid's z is capped at 65,535 workgroups. */
export const MAX_BATCH_PER_DISPATCH = 65535;

/** The uniforms of both matmul kernels (this one and kernels/matmul.ts's software tile). */
export const MATMUL_PARAMS = uniforms('Params', {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  kBegin: 'u32',
  kEnd: 'u32',
  accumulate: 'u32',
  hasBias: 'u32',
  tilesN: 'u32',
  tiles: 'u32',
  batchRank: 'u32',
  batchBase: 'u32',
  batchShape: 'vec8',
  aBatchStride: 'vec8',
  bBatchStride: 'vec8',
});

export interface TiledMatmul {
  batch: number[];
  M: number;
  K: number;
  N: number;
  /** Element strides of each batch dim in a and b (0 where broadcast). */
  aStrides: number[];
  bStrides: number[];
}

/** y = op(a) · op(b) (+ bias) into the preallocated y [...batch, M, N]. */
export function tiledMatmul(op: string, a: Tensor, b: Tensor, y: Tensor, transA: boolean, transB: boolean, bias: Tensor | undefined, d: TiledMatmul): void {
  const { batch, M, K, N } = d;
  const tile = gemmTile(M, N);
  // Each operand is loaded along its stored rows: A [M, K] along k, Aᵀ (A [K, M]) along m; B [K, N]
  // along n, Bᵀ (B [N, K]) along k. vec4 loads where those rows are a multiple of 4 long.
  const aRow = transA ? M : K;
  const bRow = transB ? K : N;
  const aLoader = `${transA ? 'aAlongM' : 'aAlongK'}${aRow % 4 === 0 ? 'Vec' : 'Scalar'}`;
  const bLoader = `${transB ? 'bAlongK' : 'bAlongN'}${bRow % 4 === 0 ? 'Vec' : 'Scalar'}`;
  const staging = gemmStaging();
  const k = kernel(`matmul:tiled:${tileKey(tile)}:${staging.key}:${aLoader},${bLoader}`, MATMUL_PARAMS, GEMM_WG, () => ({
    body: GEMM_CORE + SRC.main + SRC[aLoader] + SRC[bLoader],
    consts: gemmConsts(tile, transA, !transB, false),
    ...staging.parts,
  }));
  const tilesN = Math.ceil(N / tile.tn);
  const tiles = tilesN * Math.ceil(M / tile.tm);
  const nBatch = batch.reduce((p, x) => p * x, 1);
  const [gx, gy] = grid1d(tiles, 1);
  // A GPU runs all of k in one dispatch; a software adapter's loop cap (GPU kernels forced onto it)
  // asks for accumulating dispatches of at most this much k.
  const kChunk = loopCapApplies() ? Math.floor(LOOP_BUDGET / tripsPerStep(tile)) * tile.bk : Math.max(K, 1);
  for (let kBegin = 0; kBegin < Math.max(K, 1); kBegin += kChunk) {
    const kEnd = Math.min(K, kBegin + kChunk);
    const first = kBegin === 0;
    for (let base = 0; base < nBatch; base += MAX_BATCH_PER_DISPATCH) {
      const values = { M, N, K, kBegin, kEnd, accumulate: first ? 0 : 1, hasBias: first && bias ? 1 : 0, tilesN, tiles };
      const batchValues = { batchRank: batch.length, batchBase: base, batchShape: batch, aBatchStride: d.aStrides, bBatchStride: d.bStrides };
      run(k, [a, b, bias ?? a, y], { ...values, ...batchValues }, [gx, gy, Math.min(MAX_BATCH_PER_DISPATCH, nBatch - base)], op);
    }
  }
}
