// SRA-Seg's similarity-alignment loss (shaders/sa-loss.wgsl, eq. 15–16):
//   L_SA = 1/N Σ_i min_j ||f_syn[i] − f_real[j]||₂
// as the paper writes it (plain Euclidean distance), or with squared distances as an option. Forward:
// all pairwise squared distances (one invocation per pair), the nearest real row per synthetic row
// (its index saved), then the mean. Backward: through the saved nearest index, to f_syn and — unless
// it does not require grad (frozen, detached real embeddings) — to f_real. Key: kernel, workgroup size
// and the squared switch; sizes travel in uniforms.
import source from '../shaders/sa-loss.wgsl';
import { isGradEnabled, noGrad, record } from '../src/engine/autograd/graph.js';
import { ShapeError } from '../src/engine/tensor/shape.js';
import type { Tensor } from '../src/engine/tensor/tensor.js';
import { expectDtype, grid1d, kernel, out, run, sections } from './common.js';
import { workgroupForLoops } from './loop-budget.js';
import { mean } from './reduce-stats.js';
import { uniforms } from './uniforms.js';

const SRC = sections(source);
const OP = 'saLoss';
const PARAMS = uniforms('Params', { N: 'u32', M: 'u32', D: 'u32' });

export interface SaLossOptions {
  /** Squared Euclidean distances (default false: the paper's ||·||₂). */
  squared?: boolean;
}

export interface SaLoss {
  /** Scalar loss, differentiable in both embeddings. */
  loss: Tensor;
  /** i32 [N]: index of each synthetic row's nearest real row (first on ties). */
  nearest: Tensor;
}

/** f_syn [N, D], f_real [M, D] → mean over i of the distance to the nearest real row. */
export function saLoss(fSyn: Tensor, fReal: Tensor, options: SaLossOptions = {}): SaLoss {
  expectDtype(OP, fSyn, 'f32');
  expectDtype(OP, fReal, 'f32');
  if (fSyn.rank !== 2 || fReal.rank !== 2 || fSyn.shape[1] !== fReal.shape[1] || !fSyn.size || !fReal.size) {
    throw new ShapeError(OP, 'expects non-empty f_syn [N, D] and f_real [M, D] of the same width', [fSyn.shape, fReal.shape]);
  }
  const [N, D] = fSyn.shape;
  const M = fReal.shape[0];
  const squared = options.squared ?? false;
  const shapes = [fSyn.shape, fReal.shape];
  /** The kernel `name`, whose invocations each loop `trips` times. */
  const saKernel = (name: 'distances' | 'nearest' | 'grad_syn' | 'grad_real', trips: number) => {
    const wg = workgroupForLoops(OP, trips, shapes);
    return kernel(`saLoss:${name}:${wg}:${squared}`, PARAMS, wg, () => ({ body: SRC[name], consts: { SQUARED: ['bool', squared] } }));
  };
  const p = { N, M, D };

  const dist = out([N, M], 'f32', 'saLoss.distances');
  const k1 = saKernel('distances', D);
  run(k1, [fSyn, fReal, dist], p, grid1d(N * M, k1.wg), OP);
  const minDist = out([N], 'f32', 'saLoss.minDist');
  const nearest = out([N], 'i32', 'saLoss.nearest');
  const k2 = saKernel('nearest', M);
  run(k2, [dist, minDist, nearest], p, grid1d(N, k2.wg), OP);
  dist.dispose();
  const loss = noGrad(() => mean(minDist));

  record(loss, OP, [fSyn, fReal], [fSyn, fReal, minDist, nearest], (g, [s, r, d, a]) => {
    if (isGradEnabled()) throw new Error('saLoss: createGraph is not supported (first-order backward only)');
    let gs: Tensor | null = null;
    let gr: Tensor | null = null;
    if (fSyn.requiresGrad) {
      gs = out(s.shape, 'f32', 'saLossGradSyn');
      const k = saKernel('grad_syn', 1);
      run(k, [s, r, d, a, g, gs], p, grid1d(N * D, k.wg), OP);
    }
    if (fReal.requiresGrad) {
      gr = out(r.shape, 'f32', 'saLossGradReal');
      const k = saKernel('grad_real', N);
      run(k, [s, r, d, a, g, gr], p, grid1d(M * D, k.wg), OP);
    }
    return [gs, gr];
  });
  minDist.dispose();
  return { loss, nearest };
}
