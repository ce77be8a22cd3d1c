// Workgroup sizes for kernels whose invocations loop. llvmpipe silently ends shader loops after
// ~65,535 iterations. Measured on Mesa 22.3 (Dawn → OpenGL) the count is per invocation, nested
// loops counted together (a 256×256 average pool came out 255²/256² of the truth); the project's
// rule is stricter — per workgroup, summed over its invocations — and costs little, so kernels
// follow it: a kernel whose invocations loop `trips` times shrinks its workgroup as `trips` grows,
// and one that would loop past the budget in a single invocation is refused with a ShapeError.
import { ShapeError, type Shape } from '../src/engine/tensor/shape.js';

/** Iterations one workgroup may spend in a loop: half of llvmpipe's cap, for margin. */
const LOOP_BUDGET = 32768;
const MAX_WORKGROUP = 256;

/** The largest power-of-two workgroup (≤ 256) whose invocations together loop at most LOOP_BUDGET times. */
export function workgroupForLoops(op: string, tripsPerInvocation: number, shapes: Shape[]): number {
  const trips = Math.max(1, Math.ceil(tripsPerInvocation));
  if (trips > LOOP_BUDGET) {
    throw new ShapeError(op, `each output element would loop ${trips} times, above the ${LOOP_BUDGET} a workgroup may run`, shapes);
  }
  let wg = MAX_WORKGROUP;
  while (wg > 1 && wg * trips > LOOP_BUDGET) wg /= 2;
  return wg;
}
