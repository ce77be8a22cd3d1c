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
import { expectDtype, fill, grid1d, out, Params, run, sections } from './common.js';
import { workgroupForLoops } from './loop-budget.js';
import { mean } from './reduce-stats.js';

const SRC = sections(source);
const OP = 'saLoss';

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
  const spec = (name: string, trips: number) => {
    const wg = workgroupForLoops(OP, trips, shapes);
    return { wg, spec: { key: `saLoss:${name}:${wg}:${squared}`, source: () => fill(SRC[name], { WG: wg, SQUARED: String(squared) }) } };
  };
  const p = new Params().u32(N, M, D, 0);

  const dist = out([N, M], 'f32', 'saLoss.distances');
  const k1 = spec('distances', D);
  run(k1.spec, [fSyn, fReal, dist], p, grid1d(N * M, k1.wg), OP);
  const minDist = out([N], 'f32', 'saLoss.minDist');
  const nearest = out([N], 'i32', 'saLoss.nearest');
  const k2 = spec('nearest', M);
  run(k2.spec, [dist, minDist, nearest], p, grid1d(N, k2.wg), OP);
  dist.dispose();
  const loss = noGrad(() => mean(minDist));

  record(loss, OP, [fSyn, fReal], [fSyn, fReal, minDist, nearest], (g, [s, r, d, a]) => {
    if (isGradEnabled()) throw new Error('saLoss: createGraph is not supported (first-order backward only)');
    let gs: Tensor | null = null;
    let gr: Tensor | null = null;
    if (fSyn.requiresGrad) {
      gs = out(s.shape, 'f32', 'saLossGradSyn');
      const k = spec('grad_syn', 1);
      run(k.spec, [s, r, d, a, g, gs], p, grid1d(N * D, k.wg), OP);
    }
    if (fReal.requiresGrad) {
      gr = out(r.shape, 'f32', 'saLossGradReal');
      const k = spec('grad_real', N);
      run(k.spec, [s, r, d, a, g, gr], p, grid1d(M * D, k.wg), OP);
    }
    return [gs, gr];
  });
  minDist.dispose();
  return { loss, nearest };
}
