// The loop rule of software adapters, in one place.
//
// llvmpipe (Mesa's CPU driver, on which the tests run) ends a shader invocation's loops silently after
// about 65,535 iterations, counted per invocation with nested loops together. Measured on Mesa 22.3
// through Dawn's OpenGL backend: a 256×256 average pool came out 255²/256² of the truth, and the count
// does not grow with the workgroup size (matmul's K loop). A GPU has no such cap.
//
// The rule: where the adapter has the cap, every invocation of a kernel loops at most LOOP_BUDGET
// times, all its loops together — half the cap, because the trip counts kernels declare are
// estimates that leave out small terms (an outer loop's own iterations, a tree reduction's steps).
// A kernel that would loop longer either splits the loop across invocations (`maxLoopTrips`) or is
// refused with a ShapeError before anything runs (`checkLoops`). On an adapter without the cap
// neither limits anything. `setLoopCap` is the one switch: tests flip it to run both branches on any
// adapter.
import { runtime } from '../src/engine/gpu/runtime.js';
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';

/** Iterations one invocation may loop, all loops together, where the adapter caps them. */
export const LOOP_BUDGET = 32768;

let forced: boolean | null = null;

/** Force the loop cap on or off (tests), or `null`: the adapter decides (software adapters have it). */
export function setLoopCap(on: boolean | null): void {
  forced = on;
}

/** Whether kernels must keep within LOOP_BUDGET: on a software adapter, unless `setLoopCap` says otherwise. */
export function loopCapApplies(): boolean {
  return forced ?? runtime().ctx.isCpu;
}

/** The most iterations a loop split across invocations may give each one (no limit without the cap). */
export function maxLoopTrips(): number {
  return loopCapApplies() ? LOOP_BUDGET : Infinity;
}

/**
 * Refuse, before any work, a kernel whose invocations would each loop `tripsPerInvocation` times
 * (all loops together) beyond the budget, where the adapter caps loops. `why` names what loops.
 */
export function checkLoops(op: string, tripsPerInvocation: number, shapes: Shape[], why = 'each output element'): void {
  const trips = Math.max(1, Math.ceil(tripsPerInvocation));
  if (trips > LOOP_BUDGET && loopCapApplies()) {
    throw new ShapeError(op, `${why} would loop ${trips} times, above the ${LOOP_BUDGET} an invocation may run on this software adapter (it stops loops silently at ~65,535)`, shapes);
  }
}

/** The workgroup size of kernels whose invocations loop; on a GPU, the largest. */
const MAX_WORKGROUP = 256;
/**
 * On a software adapter a workgroup is one task for one CPU thread, its invocations run a SIMD group
 * at a time; kernels whose invocations loop long keep that task to about this many iterations, so
 * the work spreads over the threads. Measured with attention (fwd + bwd, 2 busy cores): [4, 6, 257,
 * 64] 360–465 ms with workgroups sized this way vs 561–635 ms at a fixed 64; [1, 6, 1370, 64]
 * 2.9–3.9 s vs 4.2–4.3 s.
 */
const SOFTWARE_WORKGROUP_TRIPS = 32768;

/**
 * Check the loop budget for invocations that each loop `tripsPerInvocation` times, and choose their
 * workgroup size: on a software adapter the largest power of two ≤ 256 whose invocations together
 * loop at most SOFTWARE_WORKGROUP_TRIPS times, on a GPU 256.
 */
export function workgroupForLoops(op: string, tripsPerInvocation: number, shapes: Shape[]): number {
  checkLoops(op, tripsPerInvocation, shapes);
  if (!loopCapApplies()) return MAX_WORKGROUP;
  const trips = Math.max(1, Math.ceil(tripsPerInvocation));
  let wg = MAX_WORKGROUP;
  while (wg > 1 && wg * trips > SOFTWARE_WORKGROUP_TRIPS) wg /= 2;
  return wg;
}
