// ADA's feedback loop (training/training_loop.py of NVlabs/stylegan2-ada-pytorch): the overfitting
// heuristic r_t = E[sign(D(real))] is averaged over `interval` minibatches, and p moves by
// sign(r_t − target) · batch·interval / (kimg·1000), so that it can go from 0 to 1 in `kimg`
// thousand images; p is kept ≥ 0 (as published; the gates saturate above 1).
// The signs are summed on the GPU (no readback per step); one readback per adjustment.
import { add, keep, noGrad, sign, sum, type Tensor, tidy } from '../engine/index.js';

export interface AdaOptions {
  /** Target value of r_t (published 0.6). */
  target?: number;
  /** Minibatches between adjustments (published 4). */
  interval?: number;
  /** Thousands of images for p to move by 1 (published 500). */
  kimg?: number;
  /** Images per minibatch (the step size scales with it). */
  batchSize: number;
}

export interface AdaControllerState {
  p: number;
  batches: number;
  /** Σ sign(real logits) and count since the last adjustment. */
  signSum: number;
  signCount: number;
}

/** Anything with an adjustable p (an AugmentPipe). */
export interface HasP {
  p: number;
}

/** One adjustment: the published rule, as a pure function. */
export function adaAdjust(p: number, rt: number, o: Required<AdaOptions>): number {
  const step = (Math.sign(rt - o.target) * (o.batchSize * o.interval)) / (o.kimg * 1000);
  return Math.max(p + step, 0);
}

export class AdaController {
  readonly options: Required<AdaOptions>;
  private batches = 0;
  private signSum = 0;
  private signCount = 0;
  private pending: Tensor | null = null;

  constructor(
    readonly pipe: HasP,
    options: AdaOptions,
  ) {
    this.options = { target: 0.6, interval: 4, kimg: 500, ...options };
    const { interval, kimg, batchSize } = this.options;
    if (!(interval >= 1 && kimg > 0 && batchSize >= 1)) throw new Error(`AdaController: bad options ${JSON.stringify(this.options)}`);
  }

  get p(): number {
    return this.pipe.p;
  }

  /** Record the discriminator's logits on real images for this minibatch (no readback). */
  observe(realLogits: Tensor): void {
    const total = noGrad(() => tidy(() => sum(sign(realLogits))));
    if (this.pending) {
      const prev = this.pending;
      this.pending = keep(noGrad(() => add(prev, total)));
      prev.dispose();
      total.dispose();
    } else this.pending = keep(total);
    this.signCount += realLogits.size;
  }

  /** Close a minibatch; every `interval` minibatches, read the signs back and adjust p. Returns p. */
  async step(): Promise<number> {
    this.batches++;
    if (this.batches % this.options.interval !== 0) return this.pipe.p;
    await this.drain();
    if (this.signCount > 0) this.pipe.p = adaAdjust(this.pipe.p, this.signSum / this.signCount, this.options);
    this.signSum = 0;
    this.signCount = 0;
    return this.pipe.p;
  }

  /** The heuristic r_t over the signs observed since the last adjustment (NaN when none). */
  async rt(): Promise<number> {
    await this.drain();
    return this.signSum / this.signCount;
  }

  async state(): Promise<AdaControllerState> {
    await this.drain();
    return { p: this.pipe.p, batches: this.batches, signSum: this.signSum, signCount: this.signCount };
  }

  loadState(s: AdaControllerState): void {
    this.pending?.dispose();
    this.pending = null;
    this.pipe.p = s.p;
    this.batches = s.batches;
    this.signSum = s.signSum;
    this.signCount = s.signCount;
  }

  dispose(): void {
    this.pending?.dispose();
    this.pending = null;
  }

  private async drain(): Promise<void> {
    if (!this.pending) return;
    const t = this.pending;
    this.pending = null;
    this.signSum += await t.item();
    t.dispose();
  }
}
