// StyleGAN2-ADA's mapping network z → w (unconditional): normalise z to unit second moment, a stack
// of leaky-ReLU fully connected layers at learning-rate multiplier 0.01, a running average of w
// (`w_avg`, tracked during training) and the truncation trick towards it. Names: `fc{i}.weight`,
// `fc{i}.bias`, `w_avg`.
import { add, concat, emaUpdate, expand, Generator, mean, Module, mul, noGrad, reshape, ShapeError, sub, type Tensor, tidy, zeros } from '../../engine/index.js';
import { FullyConnectedLayer, normalize2ndMoment } from './layers.js';

export interface MappingConfig {
  zDim: number;
  wDim: number;
  /** How many copies of w the synthesis network consumes (one per layer). */
  numWs: number;
  numLayers: number;
  /** Default 0.01. */
  lrMultiplier?: number;
  /** Decay of the running average of w (default 0.995). */
  wAvgBeta?: number;
  seed: number;
}

export interface MappingOptions {
  /** 1 = no truncation; ψ < 1 pulls w towards w_avg: w_avg + ψ·(w − w_avg). */
  truncationPsi?: number;
  /** Truncate only the first `truncationCutoff` of the numWs copies (default: all). */
  truncationCutoff?: number | null;
  /** Fold this batch's mean w into w_avg (default: when in training mode, as published). */
  updateWAvg?: boolean;
}

export class MappingNetwork extends Module {
  readonly layers: FullyConnectedLayer[] = [];
  readonly wAvg: Tensor;
  readonly wAvgBeta: number;

  constructor(readonly config: MappingConfig) {
    super();
    const { zDim, wDim, numLayers } = config;
    if (numLayers < 1) throw new Error(`MappingNetwork: needs at least one layer, got ${numLayers}`);
    const rng = new Generator(config.seed);
    const lrMultiplier = config.lrMultiplier ?? 0.01;
    for (let i = 0; i < numLayers; i++) {
      const layer = new FullyConnectedLayer(i === 0 ? zDim : wDim, wDim, { activation: 'lrelu', lrMultiplier }, rng);
      this.layers.push(this.registerModule(`fc${i}`, layer));
    }
    this.wAvgBeta = config.wAvgBeta ?? 0.995;
    this.wAvg = this.registerBuffer('w_avg', () => zeros([wDim]));
  }

  /** z [N, zDim] → ws [N, numWs, wDim]. */
  forward(z: Tensor, opts: MappingOptions = {}): Tensor {
    // A scope of its own: safe to call anywhere, only the outputs (and their graph) leave it.
    return tidy(() => {
      const { zDim, wDim, numWs } = this.config;
      if (z.rank !== 2 || z.shape[1] !== zDim) throw new ShapeError('MappingNetwork', `z must be [N, ${zDim}]`, [z.shape]);
      let w = normalize2ndMoment(z);
      for (const layer of this.layers) w = layer.forward(w);

      if (opts.updateWAvg ?? this.training) {
        // w_avg ← β·w_avg + (1 − β)·mean(w): published `mean.lerp(w_avg, β)`, in place so that
        // checkpoints and optimisers keep seeing the same buffer.
        noGrad(() => tidy(() => emaUpdate(this.wAvg, mean(w, 0), this.wAvgBeta)));
      }

      const n = z.shape[0];
      const psi = opts.truncationPsi ?? 1;
      const cutoff = Math.min(opts.truncationCutoff ?? numWs, numWs);
      const broadcast = (v: Tensor, copies: number) => expand(reshape(v, [n, 1, wDim]), [n, copies, wDim]);
      if (psi === 1 || cutoff <= 0) return broadcast(w, numWs);
      const truncated = add(this.wAvg, mul(sub(w, this.wAvg), psi));
      if (cutoff === numWs) return broadcast(truncated, numWs);
      return concat([broadcast(truncated, cutoff), broadcast(w, numWs - cutoff)], 1);
    });
  }
}
