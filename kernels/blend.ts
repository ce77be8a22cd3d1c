// Soft copy-paste blend (shaders/blend.wgsl): out = a·α + b·(1 − α) for a pair of [B, C, H, W]
// tensors and a weight map α [1 or B, 1, H, W] broadcast over channels (and over the batch when it
// has one map). Images and one-hot labels of SRA-Seg's mixed pairs go through the same kernel with
// the same α. Key: the kernel name only; sizes travel in uniforms. α is a constant (not
// differentiated); the first-order backward writes both input gradients in one fused pass, and under
// createGraph the same rule is written in differentiable ops.
import source from '../shaders/blend.wgsl';
import { isGradEnabled, record } from '../src/engine/autograd/graph.js';
import { sameShape, ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { expectDtype, grid1d, kernel, out, run, sections } from './common.js';
import { mul, rsub } from './elementwise.js';
import { uniforms, type UniformValues } from './uniforms.js';

const SRC = sections(source);
const WG = 256;
const PARAMS = uniforms('Params', { n: 'u32', plane: 'u32', sample: 'u32', alphaStride: 'u32' });
const blendKernel = (name: 'blend' | 'blend_grad') => kernel(`blend:${name}`, PARAMS, WG, () => ({ body: SRC[name] }));

function checkBlend(a: Tensor, b: Tensor, alpha: Tensor): UniformValues<typeof PARAMS.fields> {
  const op = 'blend';
  for (const t of [a, b, alpha]) expectDtype(op, t, 'f32');
  if (a.rank !== 4 || !sameShape(a.shape, b.shape)) throw new ShapeError(op, 'a and b must be [B, C, H, W] of the same shape', [a.shape, b.shape]);
  const [B, C, H, W] = a.shape;
  const [ab, ac, ah, aw] = alpha.shape;
  if (alpha.rank !== 4 || (ab !== 1 && ab !== B) || ac !== 1 || ah !== H || aw !== W) {
    throw new ShapeError(op, `alpha must be [1 or ${B}, 1, ${H}, ${W}]`, [a.shape, alpha.shape]);
  }
  const plane = H * W;
  return { n: a.size, plane, sample: C * plane, alphaStride: ab === 1 ? 0 : plane };
}

/** a·α + b·(1 − α), α broadcast over channels (and the batch when its first dim is 1). */
export function blend(a: Tensor, b: Tensor, alpha: Tensor): Tensor {
  const p = checkBlend(a, b, alpha);
  const y = out(a.shape, 'f32', 'blend');
  if (y.size) run(blendKernel('blend'), [a, b, alpha, y], p, grid1d(y.size, WG), 'blend');
  return record(y, 'blend', [a, b], [alpha], (g, [w]) => {
    if (isGradEnabled()) return [a.requiresGrad ? mul(g, w) : null, b.requiresGrad ? mul(g, rsub(1, w)) : null];
    const ga = out(a.shape, 'f32', 'blendGradA');
    const gb = out(b.shape, 'f32', 'blendGradB');
    if (ga.size) run(blendKernel('blend_grad'), [g, w, ga, gb], checkBlend(g, g, w), grid1d(ga.size, WG), 'blend');
    if (!a.requiresGrad) ga.dispose();
    if (!b.requiresGrad) gb.dispose();
    return [a.requiresGrad ? ga : null, b.requiresGrad ? gb : null];
  });
}
