// StyleGAN2-ADA's training objective (training/loss.py of NVlabs/stylegan2-ada-pytorch, read for the
// facts): the non-saturating logistic loss, lazy R1 on the reals, optional path-length regularisation
// and style mixing. Each phase runs its own forward and backward and leaves the gradients on the
// networks' parameters; the trainer owns the optimisers and decides which phase runs when.
//
// Every pass through D goes through the augmentation pipe (ADA), fakes and reals alike, so that D never
// sees an un-augmented image and the augmentations cannot leak into G's output distribution.
import { add, backward, concat, detach, type Generator, grad, keep, mean, mul, neg, noGrad, randn, slice, softplus, sqrt, sum, type Tensor, tidy } from '../engine/index.js';
import type { SeededRng } from '../data/rng.js';
import type { Discriminator } from '../models/stylegan2/discriminator.js';
import type { StyleGAN2Generator } from '../models/stylegan2/generator.js';
import type { AugmentPipe } from './ada.js';

export interface GanLossConfig {
  /** R1 weight γ (the penalty is γ/2·‖∇D(x)‖²). */
  r1Gamma: number;
  /** Path-length weight (published 2; 0 disables it, as the 'auto' config for small sets may). */
  plWeight: number;
  /** The path-length batch is the batch divided by this (published 2). */
  plBatchShrink: number;
  /** Decay of the running path-length mean (published 0.01). */
  plDecay: number;
  /** Probability of mixing two latents in a batch (published 0.9). */
  styleMixingProb: number;
}

export const GAN_LOSS_DEFAULTS: GanLossConfig = { r1Gamma: 1, plWeight: 0, plBatchShrink: 2, plDecay: 0.01, styleMixingProb: 0.9 };

/** Scalar losses of one phase, read back by the trainer when it logs. */
export type PhaseLogs = Record<string, Tensor>;

export class StyleGAN2Loss {
  /** Running mean of path lengths (published `pl_mean`), kept on the host between steps. */
  plMean = 0;

  constructor(
    readonly G: StyleGAN2Generator,
    readonly D: Discriminator,
    readonly augment: AugmentPipe | null,
    readonly config: GanLossConfig,
    /** GPU stream: latents, path-length noise and synthesis noise. */
    readonly random: Generator,
    /** Host stream: the style-mixing decisions (no read-back needed). */
    readonly hostRandom: SeededRng,
  ) {}

  /** z ~ N(0, I) [n, zDim]. */
  latents(n: number): Tensor {
    return randn([n, this.G.config.zDim], this.random);
  }

  /**
   * G(z) with style mixing: with probability `styleMixingProb` the ws from a second latent replace
   * the first's from a random layer on (one cutoff per batch, as published). Returns the image and ws.
   */
  generate(z: Tensor): { img: Tensor; ws: Tensor } {
    let ws = this.G.mapping.forward(z);
    const numWs = ws.shape[1];
    if (this.config.styleMixingProb > 0 && numWs > 1) {
      const cutoff = 1 + Math.floor(this.hostRandom.next() * (numWs - 1));
      if (this.hostRandom.next() < this.config.styleMixingProb) {
        const mixed = this.G.mapping.forward(this.latents(z.shape[0]), { updateWAvg: false });
        ws = concat([slice(ws, 1, 0, cutoff), slice(mixed, 1, cutoff, numWs)], 1);
      }
    }
    const img = this.G.synthesis.forward(ws, { noiseMode: 'random', generator: this.random });
    return { img, ws };
  }

  private runD(img: Tensor): Tensor {
    return this.D.forward(this.augment && this.augment.p > 0 ? this.augment.forward(img) : img);
  }

  /** Gmain: softplus(−D(G(z))) averaged over the batch; gradients reach G (and D, which the trainer ignores). */
  generatorMain(z: Tensor, gain = 1): PhaseLogs {
    return tidy(() => {
      const { img } = this.generate(z);
      const loss = mean(softplus(neg(this.runD(img))));
      backward(mul(loss, gain));
      return { G_loss: detach(loss) };
    });
  }

  /**
   * Greg: path-length regularisation, ‖Jᵀy‖ for y ~ N(0, I)/√(HW), pulled toward its running mean.
   * Needs the gradient of the image with respect to ws with createGraph (a second-order pass).
   */
  async generatorPathLength(z: Tensor, gain: number): Promise<PhaseLogs> {
    const n = Math.max(1, Math.floor(z.shape[0] / this.config.plBatchShrink));
    const logs = tidy(() => {
      const { img, ws } = this.generate(slice(z, 0, 0, n));
      const [, , h, w] = img.shape;
      const noise = mul(randn(img.shape, this.random), 1 / Math.sqrt(h * w));
      const [wsGrad] = grad(sum(mul(img, noise)), [ws], { createGraph: true });
      const lengths = sqrt(mean(sum(mul(wsGrad!, wsGrad!), 2), 1)); // [n]
      return { lengths: keep(lengths), img: keep(img) };
    });
    const meanLength = Array.from(await logs.lengths.data()).reduce((s, v) => s + v, 0) / n;
    this.plMean += (meanLength - this.plMean) * this.config.plDecay;
    const plMean = this.plMean;
    const out = tidy(() => {
      const centered = add(logs.lengths, -plMean);
      const penalty = mul(mean(mul(centered, centered)), this.config.plWeight);
      backward(mul(penalty, gain));
      return { G_pl: detach(penalty) };
    });
    logs.lengths.dispose();
    logs.img.dispose();
    return out;
  }

  /**
   * Dmain: softplus(D(G(z))) + softplus(−D(x)), scaled by `gain` (a round's share of the minibatch);
   * G runs without gradients. `onRealLogits` sees the reals' logits (ADA's overfitting heuristic).
   */
  discriminatorMain(z: Tensor, reals: Tensor, onRealLogits?: (logits: Tensor) => void, gain = 1): PhaseLogs {
    return tidy(() => {
      const fake = noGrad(() => this.generate(z).img);
      const fakeLoss = mean(softplus(this.runD(fake)));
      const realLogits = this.runD(reals);
      onRealLogits?.(realLogits);
      const realLoss = mean(softplus(neg(realLogits)));
      const total = add(fakeLoss, realLoss);
      backward(gain === 1 ? total : mul(total, gain));
      return { D_loss_fake: detach(fakeLoss), D_loss_real: detach(realLoss), D_real_logit: detach(mean(realLogits)) };
    });
  }

  /**
   * Dreg: lazy R1, γ/2·‖∇ₓD(aug(x))‖² on the un-augmented reals x, scaled by `gain` (the interval).
   * Second order: the penalty's gradient with respect to D's weights goes through D's backward.
   */
  discriminatorR1(reals: Tensor, gain: number): PhaseLogs {
    return tidy(() => {
      const x = detach(reals);
      x.requiresGrad = true;
      const logits = this.runD(x);
      const [g] = grad(sum(logits), [x], { createGraph: true });
      const penalty = mean(sum(mul(g!, g!), [1, 2, 3]));
      const loss = mul(penalty, this.config.r1Gamma / 2);
      backward(mul(loss, gain));
      return { D_r1: detach(penalty) };
    });
  }
}
