// Which shape of kernel runs, in one place: GPU-shaped or software-shaped.
//
// The software-adapter kernels (llvmpipe, lavapipe) keep every tile in registers and use no
// workgroup memory: on a CPU a workgroup is one task of one thread, shared memory is ordinary memory
// and a barrier is a coroutine switch, so staging tiles costs more than it saves (../shared/DESIGN.md:
// register tiles measured 2× faster than shared-memory tiles there). A GPU wants the opposite: many
// invocations per workgroup, coalesced loads staged once in workgroup memory and read by all, and
// launches of many workgroups (several waves of its multiprocessors). conv2d, matmul and attention
// have both shapes (kernels/tiled-gemm.ts, kernels/conv2d-gemm.ts, the `*Tiled` attention kernels);
// each asks `gpuKernels()` at every launch, and its GPU kernels have cache keys of their own.
//
// The adapter decides (a GPU gets the GPU kernels), unless SRASEG_GPU_KERNELS says otherwise: `1`
// runs the GPU kernels on any adapter (so that every GPU branch executes in CI on llvmpipe: a check
// of correctness, not of speed), `0` runs the software kernels on a GPU (for comparison). The loop
// rule of software adapters (kernels/loop-budget.ts) is independent of this choice: it follows the
// adapter, so GPU kernels forced onto llvmpipe still split their loops there.
import { InputError } from '../src/engine/errors.js';
import { inBackward } from '../src/engine/autograd/graph.js';
import { f16Refusal } from '../src/engine/gpu/device.js';
import { runtime } from '../src/engine/gpu/runtime.js';

let forced: boolean | null = null;

/** Force the GPU kernels on or off (tests), or `null`: SRASEG_GPU_KERNELS, else the adapter, decides. */
export function setGpuKernels(on: boolean | null): void {
  forced = on;
}

/**
 * The value of SRASEG_GPU_KERNELS as a choice: true, false, or null when unset; any other value is an
 * InputError (src/cli/runner.ts checks it before a command starts, so a typo never runs a whole
 * training on the kernels it did not ask for).
 */
export function gpuKernelsFromEnv(env: Record<string, string | undefined> = process.env): boolean | null {
  const v = env.SRASEG_GPU_KERNELS;
  if (v === undefined || v === '') return null;
  if (v === '1') return true;
  if (v === '0') return false;
  throw new InputError(`SRASEG_GPU_KERNELS='${v}' is not understood: set it to 1 (GPU-shaped kernels on any adapter), 0 (software-shaped kernels), or leave it unset (the adapter decides)`);
}

/** Whether conv2d, matmul and attention run their GPU-shaped kernels. */
export function gpuKernels(): boolean {
  return forced ?? gpuKernelsFromEnv() ?? !runtime().ctx.isCpu;
}

/**
 * Workgroups a GPU launch should reach to keep its multiprocessors busy: several waves of the
 * largest GPU this engine is meant for (an H100/H200 SXM has 132 SMs; WebGPU does not expose the
 * count). Work split for parallelism (split-K) aims at this many workgroups.
 */
export const GPU_TARGET_WORKGROUPS = 4 * 132;

// Half-precision staging (shader-f16), off unless asked for: outside a backward pass, the GPU-shaped GEMM
// tiles of matmul and conv2d (shaders/tiled-gemm.wgsl) round their operands to f16 once, as they
// stage them in workgroup memory, and multiply and accumulate in f32. That halves the tile's
// workgroup memory and the shared-memory traffic of its inner loop (what bounds a 4 × 4 register
// block on a GPU) at the cost of an operand rounding of 2⁻¹¹ relative; values beyond ±65,504 become
// ±Inf (the trainers' NaN/Inf watch stops such a run). The GEMMs of a backward pass stay f32:
// gradients often lie below f16's normal range (6·10⁻⁵) and would underflow without loss scaling.
// The software kernels are unaffected: they stage nothing.

let forcedF16: boolean | null = null;

/** Force f16 staging on or off (tests, benchmarks), or `null`: SRASEG_F16 decides. */
export function setF16Staging(on: boolean | null): void {
  forcedF16 = on;
}

/** SRASEG_F16 as a choice: 1 on, 0 or unset off; any other value is an InputError. */
export function f16StagingFromEnv(env: Record<string, string | undefined> = process.env): boolean {
  const v = env.SRASEG_F16;
  if (v === undefined || v === '' || v === '0') return false;
  if (v === '1') return true;
  throw new InputError(`SRASEG_F16='${v}' is not understood: set it to 1 (GEMM tiles staged in half precision, f32 accumulation) or 0, or leave it unset`);
}

/**
 * Whether the GPU-shaped GEMM tiles stage in f16 now (asked for, and not in a backward pass). Asked
 * for where it cannot take effect, it is an InputError rather than a silent f32 run: the adapter lacks
 * shader-f16, or the software kernels run.
 */
export function f16Staging(): boolean {
  if (!(forcedF16 ?? f16StagingFromEnv())) return false;
  const ctx = runtime().ctx;
  if (!ctx.features.f16) throw new InputError(f16Refusal(ctx.description, ctx.backend));
  if (!gpuKernels()) {
    throw new InputError(`SRASEG_F16=1 applies to the GPU-shaped kernels, which this adapter does not run: also set SRASEG_GPU_KERNELS=1, or unset SRASEG_F16`);
  }
  return !inBackward();
}
