// The GPU-shaped GEMM tile (shaders/tiled-gemm.wgsl) as the GPU kernels of matmul and conv2d use it:
// the tile's shape for a problem's sizes, the constants that compile it in, the loop trips its
// invocations make (for the loop rule where GPU kernels are forced onto a software adapter), and the
// split of k into chunks. The kernels themselves: kernels/matmul-tiled.ts, kernels/conv2d-gemm.ts.
import source from '../shaders/tiled-gemm.wgsl';
import { sections } from './common.js';
import { f16Staging } from './variant.js';
import type { ShaderParts, WgslConst } from './wgsl.js';

/** The tile's WGSL (workgroup arrays, staging, the k loop); the kernel appends its loaders and main. */
export const GEMM_CORE = sections(source).core;

/** Invocations per workgroup: each computes a 4 × 4 block, so a tile holds 16 · 256 = 4096 outputs. */
export const GEMM_WG = 256;

export interface GemmTile {
  /** Rows (M) and columns (N) of C per workgroup: TM · TN = 4096. */
  tm: number;
  tn: number;
  /** k per staging step (a multiple of 4). */
  bk: number;
}

/**
 * The tile for an M × N output: 64 × 64, unless one side is short, where the tile narrows to it
 * (16 or 32) and grows along the other so that no invocation idles (M = 16 output channels would
 * leave 3/4 of a 64-row tile empty). BK 16, or 8 for the 16 × 256 tiles, keeps the staged tiles
 * (BK · (TM + TN) · 4 bytes, ≤ 10 KiB) under WebGPU's default 16 KiB of workgroup memory.
 */
export function gemmTile(M: number, N: number): GemmTile {
  if (M <= 16) return { tm: 16, tn: 256, bk: 8 };
  if (M <= 32) return { tm: 32, tn: 128, bk: 16 };
  if (N <= 16) return { tm: 256, tn: 16, bk: 8 };
  if (N <= 32) return { tm: 128, tn: 32, bk: 16 };
  return { tm: 64, tn: 64, bk: 16 };
}

/** The tile in a cache key. */
export const tileKey = (t: GemmTile) => `${t.tm}x${t.tn}k${t.bk}`;

/**
 * The core's constants: the tile, which way A and B are loaded (their contiguous axis), which way
 * consecutive invocations' output blocks lie, and the staged rows' lengths (padded by one vec4 where
 * quads along k are scattered into them).
 */
export function gemmConsts(t: GemmTile, aAlongM: boolean, bAlongN: boolean, lanesAlongM: boolean): Record<string, WgslConst> {
  return {
    TM: ['u32', t.tm],
    TN: ['u32', t.tn],
    BK: ['u32', t.bk],
    AROW: ['u32', t.tm / 4 + (aAlongM ? 0 : 1)],
    BROW: ['u32', t.tn / 4 + (bAlongN ? 0 : 1)],
    A_ALONG_M: ['bool', aAlongM],
    B_ALONG_N: ['bool', bAlongN],
    LANES_ALONG_M: ['bool', lanesAlongM],
  };
}

/**
 * Loop iterations an invocation makes per step of BK, counted as a software adapter's loop cap
 * counts them: the inner k loop, the staging loops, and the loaders' loops over a quad (4 each),
 * with a margin for the step itself.
 */
export function tripsPerStep(t: GemmTile): number {
  const loads = Math.ceil((t.bk * t.tm) / 4 / GEMM_WG) + Math.ceil((t.bk * t.tn) / 4 / GEMM_WG);
  return t.bk + 5 * loads + 2;
}

/** Loop iterations of one invocation over k in [0, K). */
export const gemmTrips = (t: GemmTile, K: number) => Math.ceil(K / t.bk) * tripsPerStep(t);

/**
 * The staged element type (f32, or f16 where `f16Staging()` says: kernels/variant.ts) as the core's
 * `Stage`/`StageQuad` aliases, the `enable` it needs, and its part of the kernel's cache key.
 */
export function gemmStaging(): { key: string; parts: Pick<ShaderParts, 'types' | 'enable'> } {
  const t = f16Staging() ? 'f16' : 'f32';
  return { key: `stage-${t}`, parts: { types: { Stage: t, StageQuad: `vec4<${t}>` }, enable: t === 'f16' ? ['f16'] : [] } };
}
