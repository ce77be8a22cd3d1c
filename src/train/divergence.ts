// The divergence watch: which watched quantity first held a NaN or Inf, and at which iteration,
// without a read-back per step. One small u32 GPU buffer holds a slot per quantity (each loss term,
// each optimiser's gradients and weights); every step the `markNonFinite` kernel lowers a slot to the
// current iteration when its tensor is not finite (kernels/finite.ts). The trainers read the buffer
// only where they read the loss anyway (log iterations) and before every validation/checkpoint, so a
// diverged run stops before anything after the divergence is written.
import { keep, markNonFinite, type Optimizer, tensor, type Tensor, tidy } from '../engine/index.js';
import { DivergenceError } from '../errors.js';

const CLEAN = 0xffffffff;
const MAX_SLOTS = 64;
/** Within one iteration a loss term comes before the gradients it produces, and those before the update. */
type Kind = 0 | 1 | 2;
const LOSS: Kind = 0;
const GRADIENTS: Kind = 1;
const WEIGHTS: Kind = 2;

export interface Divergence {
  /** The quantity that went first (ties within an iteration: loss terms, then gradients, then weights). */
  term: string;
  iteration: number;
  /** The other quantities non-finite at that same iteration. */
  alsoAtThatIteration: string[];
}

export class DivergenceWatch {
  /** 1-based iteration of the step being recorded; the loop sets it before each step. */
  iteration = 0;
  private readonly flags: Tensor;
  private readonly slots: { name: string; kind: Kind }[] = [];
  private readonly watched: Optimizer[] = [];

  constructor() {
    this.flags = keep(tidy(() => tensor(new Uint32Array(MAX_SLOTS).fill(CLEAN), [MAX_SLOTS], 'u32')));
  }

  /** Mark a loss term of the current step. */
  term(name: string, t: Tensor): void {
    markNonFinite(t, this.flags, this.slot(name, LOSS), this.iteration);
  }

  /** Watch an optimiser's gradients (before each of its steps) and the weights it updates (after). */
  observe(optimizer: Optimizer, name = ''): void {
    const grads = this.slot(name ? `${name} gradients` : 'gradients', GRADIENTS);
    const weights = this.slot(name ? `${name} weights` : 'weights', WEIGHTS);
    // The optimiser hands over what to check: each gradient and parameter, or — fused — its gradient
    // and parameter arenas, one dispatch for all (a parameter without a gradient this step keeps its
    // last, already checked, gradient in the arena: checking it again changes no first iteration).
    optimizer.hooks = {
      beforeStep: (gradients) => {
        for (const g of gradients) markNonFinite(g, this.flags, grads, this.iteration);
      },
      afterStep: (params) => {
        for (const p of params) markNonFinite(p, this.flags, weights, this.iteration);
      },
    };
    this.watched.push(optimizer);
  }

  /** Reads the flags (one small read-back): the first divergence, or null while everything is finite. */
  async read(): Promise<Divergence | null> {
    const v = (await this.flags.data()) as Uint32Array;
    const hit = this.slots.map((s, i) => ({ ...s, at: v[i], order: i })).filter((s) => s.at !== CLEAN);
    if (!hit.length) return null;
    const first = Math.min(...hit.map((s) => s.at));
    const same = hit.filter((s) => s.at === first).sort((a, b) => a.kind - b.kind || a.order - b.order);
    return { term: same[0].name, iteration: first, alsoAtThatIteration: same.slice(1).map((s) => s.name) };
  }

  /** Stop the hooks and free the flags. */
  dispose(): void {
    for (const o of this.watched) o.hooks = {};
    this.flags.dispose();
  }

  private slot(name: string, kind: Kind): number {
    let i = this.slots.findIndex((s) => s.name === name);
    if (i < 0) {
      if (this.slots.length === MAX_SLOTS) throw new Error(`DivergenceWatch: more than ${MAX_SLOTS} watched quantities`);
      i = this.slots.push({ name, kind }) - 1;
    }
    return i;
  }
}

/**
 * The error a trainer stops with: what went first and when, and what the run folder holds.
 * `counter` is 'iteration' (UNet stages) or 'step' (GAN minibatches).
 */
export function divergenceError(d: Divergence, counter: string, stoppedAt: number, lastCheckpoint: number | null): DivergenceError {
  const also = d.alsoAtThatIteration.length ? ` (at the same ${counter}: ${d.alsoAtThatIteration.join(', ')})` : '';
  const saved =
    lastCheckpoint === null || lastCheckpoint === 0
      ? 'no checkpoint was written'
      : `nothing was saved after ${counter} ${lastCheckpoint} (its checkpoint is intact)`;
  return new DivergenceError(
    d.term,
    d.iteration,
    `training diverged: ${d.term} became non-finite (NaN or Inf) at ${counter} ${d.iteration}${also}; stopped at ${counter} ${stoppedAt}, ${saved}. ` +
      'Lower the learning rate (--lr), or continue from the checkpoint with other flags (--resume --allow-config-change)',
  );
}

/** The first non-finite value in host tensors about to be saved, as "name[index] = value", or null. */
export function firstNonFinite(tensors: Iterable<[string, { dtype: string; data: ArrayLike<number> | BigInt64Array }]>): string | null {
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'F64') continue;
    const d = t.data as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return `${name}[${i}] = ${d[i]}`;
  }
  return null;
}
