// Non-finite detection without a read-back: `markNonFinite(x, flags, slot, iteration)` lowers
// flags[slot] to `iteration` when x holds a NaN or ±Inf. Trainers call it on each loss term, the
// gradients and the weights every step (src/train/divergence.ts) and read the flags only where they
// read the loss anyway. Not an autograd op; it writes nothing but the flag.
// Cache key: the kernel's name only; uniforms n (elements of x), slot, iteration.
import source from '../shaders/finite.wgsl';
import { ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { grid1d, kernel, run, sections } from './common.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 256;
const PARAMS = uniforms('Params', { n: 'u32', slot: 'u32', iteration: 'u32' });
const MARK = kernel('finite:mark_non_finite', PARAMS, WG, () => ({ body: SRC.mark_non_finite }));

/** flags: a u32 tensor, one slot per watched quantity, "no divergence" = 0xFFFFFFFF. */
export function markNonFinite(x: Tensor, flags: Tensor, slot: number, iteration: number): void {
  if (x.dtype !== 'f32') throw new ShapeError('markNonFinite', `expects an f32 tensor, got ${x.dtype}`, [x.shape]);
  if (flags.dtype !== 'u32' || slot < 0 || slot >= flags.size) throw new ShapeError('markNonFinite', `slot ${slot} outside the u32 flags`, [flags.shape]);
  if (!Number.isInteger(iteration) || iteration < 0 || iteration >= 0xffffffff) throw new Error(`markNonFinite: iteration ${iteration} is not a u32 below 2^32 − 1`);
  if (x.size === 0) return;
  run(MARK, [x, flags], { n: x.size, slot, iteration }, grid1d(x.size, WG), 'markNonFinite');
}
