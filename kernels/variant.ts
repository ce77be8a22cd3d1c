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
