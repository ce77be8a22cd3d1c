// The weights of the 2-D convolution kernels: packed for the forward kernels (the TC destination
// channels of one tap contiguous, shaders/conv2d-weights.wgsl), and the weight gradient summed from
// its split-K partials. Used by both the direct kernels and the padded-row fast path.
import source from '../shaders/conv2d-weights.wgsl';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import type { Shape } from '../src/engine/tensor/shape.js';
import { grid1d, kernel, out, run, sections } from './common.js';
import { sum } from './reduce.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const WG = 256;

const PACK_WEIGHTS = uniforms('Params', {
  n: 'u32',
  tc: 'u32',
  taps: 'u32',
  cs: 'u32',
  cd: 'u32',
  blocksPerGroup: 'u32',
  groupStride: 'u32',
  dStride: 'u32',
  sStride: 'u32',
  flip: 'u32',
});

/**
 * The weights as Packed[block][s][tap][j] (see the shader): tc destination channels of one tap
 * contiguous. Forward w is [Cd, Cs/groups, kh, kw]; transposed w is [Cs, Cd/groups, kh, kw].
 */
export function packWeights(op: string, w: Tensor, transposed: boolean, flip: boolean, cs: number, cd: number, tc: number, groups: number): Tensor {
  const taps = w.shape[2] * w.shape[3];
  const blocksPerGroup = Math.ceil(cd / tc);
  // Weight of (destination channel d, source channel s) of group g lies at g·groupStride + d·dStride + s·sStride.
  const [dStride, sStride] = transposed ? [taps, cd * taps] : [cs * taps, taps];
  const packed = out([groups * blocksPerGroup * cs * taps * tc], 'f32', `${op}:packed-weights`);
  const k = kernel('conv2d:packWeights', PACK_WEIGHTS, WG, () => ({ body: SRC.packWeights }));
  const values = { n: packed.size, tc, taps, cs, cd, blocksPerGroup, groupStride: cs * cd * taps, dStride, sStride, flip: flip ? 1 : 0 };
  run(k, [w, packed], values, grid1d(packed.size, WG), op);
  return packed;
}

/** The weight gradient from split-K partials [chunks, |w|]: their sum (or the one chunk) as `shape`. */
export function sumChunks(partials: Tensor, nChunks: number, shape: Shape): Tensor {
  const total = nChunks === 1 ? partials : sum(partials, 0);
  const v = total.view(shape);
  total.dispose();
  if (total !== partials) partials.dispose();
  return v;
}
