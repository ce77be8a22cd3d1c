// One StyleGAN2-ADA minibatch as its phases, in the published order (training/training_loop.py of
// NVlabs/stylegan2-ada-pytorch, read for the facts): Gmain, Greg (path length, every plInterval),
// Dmain, Dreg (lazy R1, every r1Interval) — each with its own Adam step and the other network frozen —
// then G_ema (half-life with ramp-up, buffers copied) and ADA's p. The trainer (train.ts) runs
// `minibatch` once per iteration of the shared loop (src/train/loop.ts); test/gan-rounds.test.ts
// drives the phases one at a time.
//
// A minibatch too large for one pass (the published 256² shape at batch 16 needs single tensors
// above a 128 MiB binding limit) runs in rounds of `batchGpu` images, as the published loop does:
// each phase's latents and reals are drawn for the whole minibatch, cut into rounds, and the rounds'
// gradients accumulate before the phase's one Adam step. Each round's loss is scaled by 1/rounds, so
// the step sees the minibatch mean's gradient (the published loop sums the rounds' means instead,
// a scale Adam all but ignores); the discriminator's minibatch-std groups then form within a round.
import { add, type Adam, emaUpdate, type Module, mul, slice, type Tensor, tidy, updateEmaModel } from '../engine/index.js';
import type { StyleGAN2Generator } from '../models/stylegan2/generator.js';
import type { Discriminator } from '../models/stylegan2/discriminator.js';
import type { StepOutput } from '../train/loop.js';
import type { AdaController } from './ada-controller.js';
import type { AugmentPipe } from './ada.js';
import type { PhaseLogs, StyleGAN2Loss } from './loss.js';
import type { RealImageSet } from './reals.js';

/** The schedule a minibatch needs (StyleGanTrainConfig's fields; declared here so that train.ts alone imports this file). */
export interface MinibatchConfig {
  batch: number;
  /** Images per forward/backward pass; a divisor of `batch` (default: all of it, one round). */
  batchGpu?: number;
  plWeight: number;
  plInterval: number;
  r1Gamma: number;
  r1Interval: number;
  emaKimg: number;
  emaRampup: number | null;
}

export interface StyleGanParts {
  cfg: MinibatchConfig;
  G: StyleGAN2Generator;
  D: Discriminator;
  G_ema: StyleGAN2Generator;
  optG: Adam;
  optD: Adam;
  loss: StyleGAN2Loss;
  augment: AugmentPipe | null;
  ada: AdaController | null;
  reals: RealImageSet;
}

export class StyleGanPhases {
  /** Real images shown to D so far. */
  nimg = 0;

  constructor(private readonly p: StyleGanParts) {}

  /** The whole minibatch number `step` (0-based): every phase due, then EMA and ADA. */
  async minibatch(step: number): Promise<StepOutput> {
    const { cfg, G, D, reals } = this.p;
    const logs: Record<string, Tensor> = {};
    setTrainable(D, false); // D frozen: its weights get no gradient from G's losses
    this.generatorMain(logs);
    if (cfg.plWeight > 0 && step % cfg.plInterval === 0) await this.generatorRegularisation(logs);
    setTrainable(D, true);
    setTrainable(G, false); // G only generates
    const real = this.rounds(reals.next(cfg.batch));
    this.discriminatorMain(real, logs);
    if (cfg.r1Gamma > 0 && step % cfg.r1Interval === 0) this.discriminatorRegularisation(real, logs);
    setTrainable(G, true);
    this.nimg += cfg.batch;
    this.emaUpdate();
    const p = await this.adaUpdate();
    return { terms: logs, values: { kimg: this.nimg / 1000, p } };
  }

  /** Gmain: the non-saturating loss of G's fakes through D. */
  generatorMain(logs: Record<string, Tensor>): void {
    const { optG, loss, cfg } = this.p;
    optG.zeroGrad();
    const z = this.rounds(loss.latents(cfg.batch));
    meanOverRounds(logs, z.map((zr) => tidy(() => loss.generatorMain(zr, 1 / z.length))));
    optG.step();
  }

  /** Greg: path-length regularisation, its loss ×plInterval (lazy regularisation). */
  async generatorRegularisation(logs: Record<string, Tensor>): Promise<void> {
    const { optG, loss, cfg } = this.p;
    optG.zeroGrad();
    const z = this.rounds(loss.latents(cfg.batch));
    const parts: PhaseLogs[] = [];
    // One round at a time: each updates the running path-length mean the next one is pulled toward.
    for (const zr of z) parts.push(await loss.generatorPathLength(zr, cfg.plInterval / z.length));
    meanOverRounds(logs, parts);
    optG.step();
  }

  /** Dmain: D's logistic loss on fakes and reals; ADA observes the signs of D(real). */
  discriminatorMain(real: Tensor[], logs: Record<string, Tensor>): void {
    const { optD, loss, cfg, ada } = this.p;
    optD.zeroGrad();
    const z = this.rounds(loss.latents(cfg.batch));
    meanOverRounds(logs, z.map((zr, r) => tidy(() => loss.discriminatorMain(zr, real[r], (l) => ada?.observe(l), 1 / z.length))));
    optD.step();
  }

  /** Dreg: lazy R1 on the reals, ×r1Interval. */
  discriminatorRegularisation(real: Tensor[], logs: Record<string, Tensor>): void {
    const { optD, loss, cfg } = this.p;
    optD.zeroGrad();
    meanOverRounds(logs, real.map((xr) => loss.discriminatorR1(xr, cfg.r1Interval / real.length)));
    optD.step();
  }

  /** `t` [batch, …] cut along the batch into the rounds of `batchGpu` images (itself when one round). */
  rounds(t: Tensor): Tensor[] {
    const { batch, batchGpu = batch } = this.p.cfg;
    if (batchGpu === batch) return [t];
    return Array.from({ length: batch / batchGpu }, (_, r) => slice(t, 0, r * batchGpu, (r + 1) * batchGpu));
  }

  /** G_ema: half-life emaKimg, ramped up over the first images; buffers (w_avg) copied, not averaged. */
  emaUpdate(): void {
    const { cfg, G, G_ema } = this.p;
    const emaNimg = Math.min(cfg.emaKimg * 1000, cfg.emaRampup === null ? Infinity : this.nimg * cfg.emaRampup);
    updateEmaModel(G_ema, G, 0.5 ** (cfg.batch / Math.max(emaNimg, 1e-8)));
    copyBuffers(G_ema, G);
  }

  /** ADA: p moved toward the target every adaInterval minibatches (its own small read-back). */
  async adaUpdate(): Promise<number> {
    const { ada, augment } = this.p;
    return ada ? await ada.step() : (augment?.p ?? 0);
  }
}

/** Puts the rounds' mean of each logged scalar into `logs` (the minibatch's figure: equal rounds). */
function meanOverRounds(logs: Record<string, Tensor>, parts: PhaseLogs[]): void {
  for (const key of Object.keys(parts[0])) {
    logs[key] = parts.length === 1 ? parts[0][key] : tidy(() => mul(parts.map((part) => part[key]).reduce((a, b) => add(a, b)), 1 / parts.length));
  }
}

function setTrainable(m: Module, on: boolean): void {
  for (const p of m.parameters()) p.requiresGrad = on;
}

/** Buffers (the mapping's w_avg, constant noise) are copied, not averaged, into G_ema, as published. */
function copyBuffers(dst: Module, src: Module): void {
  const from = new Map(src.namedBuffers());
  for (const [name, t] of dst.namedBuffers()) if (t.dtype === 'f32') emaUpdate(t, from.get(name)!, 0);
}
