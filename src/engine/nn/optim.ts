// Optimisers over a flat list of parameters (one parameter group): SGD and Adam/AdamW.
//
// Two ways to run a step, with the same numbers bit for bit (kernels/optim.ts, one shader each):
// - Fused (the default): at construction the optimiser moves its parameters into a parameter arena
//   (src/engine/nn/arena.ts) and keeps their gradients and its state in arenas of the same layout.
//   A step copies each gradient into the gradient arena (a buffer copy, no kernel) and updates every
//   run of consecutive parameters with the same step count in one dispatch — one or two for a whole
//   model instead of one per parameter. The hooks see the arenas: one check for all gradients.
// - Per parameter: one dispatch per parameter, its state tensors created on its first step. Used where
//   the parameters cannot move (another live handle shares one's storage, another live optimiser's
//   arena holds one, a duplicate, a non-f32 tensor, one larger than a storage binding), or when asked
//   (`fused: false`; SRASEG_FUSED_OPTIM=0 for all).
// Either way the state tensors are owned by the optimiser (outside tidy scopes) and never
// reallocated, so a training loop's memory stays flat. `lr` may be changed between steps.
import { adamUpdate, sgdUpdate, type UpdateRange } from '../../../kernels/optim.js';
import { keep, tidy } from '../tensor/scope.js';
import { fmtShape, sameShape, ShapeError } from '../tensor/shape.js';
import { empty, type Storage, tensor, zeros, type Tensor } from '../tensor/tensor.js';
import { Arena, maxChunkElements, planArena, type Run, runsOf } from './arena.js';

/** One parameter's state: steps taken and named state tensors (PyTorch's names, e.g. `exp_avg`). */
interface ParamState {
  step: number;
  slots: Map<string, Tensor>;
}

/** Host copy of an optimiser's state, enough to resume training exactly. */
export interface OptimizerStateDict {
  kind: string;
  lr: number;
  /** One entry per parameter, in the constructor's order; null where the parameter has no state yet. */
  state: ({ step: number; slots: Record<string, Float32Array> } | null)[];
}

/**
 * Observers of every step (e.g. a divergence watch marking non-finite gradients before the update
 * and non-finite weights after it). They receive the tensors to look at — each parameter's gradient
 * and each parameter, or, for a fused optimiser, its gradient and parameter arenas (padding zeros
 * included) — and may only record GPU work: a read-back here would cost a round trip per step.
 */
export interface StepHooks {
  beforeStep?: (grads: readonly Tensor[]) => void;
  afterStep?: (weights: readonly Tensor[]) => void;
}

/** Options every optimiser takes. */
export interface FusedOption {
  /** Keep parameters, gradients and state in arenas and update them in a few dispatches (default true). */
  fused?: boolean;
}

/** The arenas of a fused optimiser, one layout for all. */
interface Fused {
  params: Arena;
  grads: Arena;
  slots: Map<string, Arena>;
  /** The storage slice each parameter must still live in (checked every step). */
  homes: Storage[];
  /** Steps each parameter has taken. */
  steps: number[];
}

/** The live optimiser whose arena holds each parameter: no other optimiser may move it meanwhile. */
const arenaOwner = new WeakMap<Tensor, Optimizer>();

export abstract class Optimizer {
  protected readonly state: (ParamState | null)[];
  /** The arenas, or null on the per-parameter path. */
  private fusedState: Fused | null = null;
  hooks: StepHooks = {};

  constructor(
    readonly params: Tensor[],
    public lr: number,
    readonly kind: string,
  ) {
    if (!(lr >= 0)) throw new Error(`${kind}: invalid learning rate ${lr}`);
    this.state = params.map(() => null);
  }

  /** True when this optimiser updates its parameters through arenas (a few dispatches per step). */
  get isFused(): boolean {
    return this.fusedState !== null;
  }

  /** Update the parameter at `index` from its gradient `grad` (per-parameter path). */
  protected abstract update(index: number, param: Tensor, grad: Tensor): void;

  /** The state slots this optimiser keeps per parameter, in PyTorch's names (fused path). */
  protected abstract slotNames(): string[];

  /** Parameters whose runs may share a dispatch: equal keys (e.g. the step count). */
  protected abstract runKey(steps: number): string | number;

  /** True when the update maps a zero parameter, gradient and state to zeros (runs may span padding). */
  protected abstract paddingSafe(): boolean;

  /** Update one run of the arenas (fused path); `steps` is the run's step count before this update. */
  protected abstract updateRun(params: Tensor, grads: Tensor, slots: Map<string, Tensor>, range: UpdateRange, steps: number): void;

  /**
   * Move the parameters into arenas when they can move (see the file's comment); subclasses call it
   * at the end of their constructor, once their hyper-parameters are known.
   */
  protected setupArenas(fused: boolean): void {
    const ps = this.params;
    const canMove =
      fused &&
      process.env.SRASEG_FUSED_OPTIM !== '0' &&
      ps.length > 0 &&
      new Set(ps).size === ps.length &&
      ps.every((p) => !p.isDisposed && p.dtype === 'f32' && p.storageRefs === 1 && !arenaOwner.has(p));
    const layout = canMove ? planArena(ps.map((p) => p.size), maxChunkElements()) : null;
    if (!layout) return;
    const params = new Arena(layout, `${this.kind} parameters`);
    ps.forEach((p, i) => params.copyIn(i, p));
    const homes = ps.map((p, i) => {
      const home = params.sliceStorage(i);
      p.replaceStorage(home);
      arenaOwner.set(p, this);
      return home;
    });
    const slots = new Map(this.slotNames().map((name) => [name, new Arena(layout, `${this.kind} ${name}`)]));
    this.fusedState = { params, grads: new Arena(layout, `${this.kind} gradients`), slots, homes, steps: ps.map(() => 0) };
  }

  /** One update of every parameter that has a gradient (the others are skipped, as in PyTorch). */
  step(): void {
    const f = this.fusedState;
    if (!f) {
      this.hooks.beforeStep?.(this.params.flatMap((p) => (p.grad ? [p.grad] : [])));
      this.params.forEach((p, i) => {
        if (p.grad) this.update(i, p, p.grad);
      });
      this.hooks.afterStep?.(this.params);
      return;
    }
    this.params.forEach((p, i) => {
      if (p.storage(`${this.kind}.step`) !== f.homes[i]) {
        throw new Error(`${this.kind}.step: parameter ${i} ${fmtShape(p.shape)} no longer lives in this optimiser's arena (its storage was replaced)`);
      }
      const g = p.grad;
      if (!g) return;
      if (g.dtype !== 'f32' || !sameShape(g.shape, p.shape)) {
        throw new ShapeError(`${this.kind}.step`, `parameter ${i}'s gradient must be an f32 tensor of its shape`, [p.shape, g.shape]);
      }
      f.grads.copyIn(i, g);
    });
    this.hooks.beforeStep?.(f.grads.chunks);
    const runs: Run[] = runsOf(f.params.layout, (i) => (this.params[i].grad ? this.runKey(f.steps[i]) : null), this.paddingSafe());
    for (const r of runs) {
      const slots = new Map([...f.slots].map(([name, a]) => [name, a.chunks[r.chunk]]));
      this.updateRun(f.params.chunks[r.chunk], f.grads.chunks[r.chunk], slots, [r.start, r.count], f.steps[r.first]);
      for (let i = r.first; i <= r.last; i++) f.steps[i]++;
    }
    this.hooks.afterStep?.(f.params.chunks);
  }

  /** Dispose every parameter's gradient (PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** State of parameter `index`, created on first use by `create` (its tensors are kept from tidy scopes). */
  protected stateFor(index: number, create: () => [string, Tensor][]): ParamState {
    let s = this.state[index];
    if (!s) {
      s = { step: 0, slots: new Map(create().map(([name, t]) => [name, keep(t)])) };
      this.state[index] = s;
    }
    return s;
  }

  async stateDict(): Promise<OptimizerStateDict> {
    const state: OptimizerStateDict['state'] = [];
    const f = this.fusedState;
    if (f) {
      // One read-back per chunk and slot, sliced on the host.
      const host = new Map<string, Float32Array[]>();
      for (const [name, a] of f.slots) host.set(name, await a.readAll());
      this.params.forEach((_, i) => {
        if (!f.slots.size || f.steps[i] === 0) {
          state.push(null);
          return;
        }
        const slots: Record<string, Float32Array> = {};
        for (const [name, values] of host) slots[name] = values[i];
        state.push({ step: f.steps[i], slots });
      });
      return { kind: this.kind, lr: this.lr, state };
    }
    for (const s of this.state) {
      if (!s) {
        state.push(null);
        continue;
      }
      const slots: Record<string, Float32Array> = {};
      for (const [name, t] of s.slots) slots[name] = (await t.data()) as Float32Array;
      state.push({ step: s.step, slots });
    }
    return { kind: this.kind, lr: this.lr, state };
  }

  /** Replace this optimiser's state (and lr) with a saved one for the same parameters. */
  loadStateDict(saved: OptimizerStateDict): void {
    if (saved.kind !== this.kind) throw new Error(`${this.kind}.loadStateDict: the state belongs to a ${saved.kind} optimiser`);
    if (saved.state.length !== this.params.length) {
      throw new Error(`${this.kind}.loadStateDict: the state has ${saved.state.length} parameters, this optimiser ${this.params.length}`);
    }
    saved.state.forEach((s, i) => {
      for (const [name, values] of Object.entries(s?.slots ?? {})) {
        if (values.length !== this.params[i].size) {
          throw new Error(`${this.kind}.loadStateDict: parameter ${i} ${fmtShape(this.params[i].shape)}: '${name}' has ${values.length} values`);
        }
      }
    });
    const f = this.fusedState;
    if (f) {
      saved.state.forEach((s, i) => {
        for (const name of f.slots.keys()) {
          if (s && s.step > 0 && !s.slots[name]) throw new Error(`${this.kind}.loadStateDict: parameter ${i} has a state without '${name}'`);
        }
      });
      saved.state.forEach((s, i) => {
        f.steps[i] = s?.step ?? 0;
        for (const [name, a] of f.slots) {
          const values = s?.slots[name];
          if (values) a.write(i, values);
          else a.clear(i); // no state yet: Adam's moments start at zero
        }
      });
      this.lr = saved.lr;
      return;
    }
    this.disposeState();
    saved.state.forEach((s, i) => {
      if (!s) return;
      const shape = this.params[i].shape;
      // Each upload in a scope of its own and kept: safe to call where no scope is open.
      const slots = new Map(Object.entries(s.slots).map(([name, v]): [string, Tensor] => [name, keep(tidy(() => tensor(v, shape)))]));
      this.state[i] = { step: s.step, slots };
    });
    this.lr = saved.lr;
  }

  private disposeState(): void {
    this.state.forEach((s, i) => {
      for (const t of s?.slots.values() ?? []) t.dispose();
      this.state[i] = null;
    });
  }

  /**
   * Free the optimiser's state (the parameters belong to their module: they stay in the parameter
   * arena, which lives on as long as they do, and another optimiser may then move them into its own).
   */
  dispose(): void {
    this.disposeState();
    const f = this.fusedState;
    if (f) {
      for (const p of this.params) if (arenaOwner.get(p) === this) arenaOwner.delete(p);
      f.params.dispose();
      f.grads.dispose();
      for (const a of f.slots.values()) a.dispose();
      this.fusedState = null;
    }
  }
}

export interface SGDOptions extends FusedOption {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** torch.optim.SGD. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: Tensor[], { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, fused = true }: SGDOptions) {
    super(params, lr, 'SGD');
    if (!(momentum >= 0) || !(weightDecay >= 0)) throw new Error(`SGD: invalid momentum ${momentum} or weight decay ${weightDecay}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: nesterov momentum requires a momentum > 0 and zero dampening');
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
    this.setupArenas(fused);
  }

  private options() {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }

  protected slotNames(): string[] {
    return this.momentum === 0 ? [] : ['momentum_buffer'];
  }

  /** Only the momentum buffer's first step differs (it is set to the gradient). */
  protected runKey(steps: number): string {
    return this.momentum !== 0 && steps === 0 ? 'first' : 'next';
  }

  protected paddingSafe(): boolean {
    return true; // p = 0, g = 0, b = 0 → 0
  }

  protected updateRun(params: Tensor, grads: Tensor, slots: Map<string, Tensor>, range: UpdateRange, steps: number): void {
    const buf = slots.get('momentum_buffer') ?? null;
    sgdUpdate(params, grads, buf, { ...this.options(), firstStep: steps === 0, range });
  }

  protected update(index: number, param: Tensor, grad: Tensor): void {
    const o = this.options();
    if (this.momentum === 0) {
      sgdUpdate(param, grad, null, o);
      return;
    }
    // The buffer's first value is the gradient itself, so it starts uninitialised (never read).
    const s = this.stateFor(index, () => [['momentum_buffer', empty(param.shape, 'f32', 'momentum_buffer')]]);
    sgdUpdate(param, grad, s.slots.get('momentum_buffer')!, { ...o, firstStep: s.step === 0 });
    s.step++;
  }
}

export interface AdamOptions extends FusedOption {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** AdamW's decoupled weight decay instead of Adam's L2 term. */
  decoupled?: boolean;
}

/** torch.optim.Adam, or torch.optim.AdamW with `decoupled` (amsgrad is not implemented). */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;

  constructor(params: Tensor[], { lr, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, decoupled = false, fused = true }: AdamOptions) {
    super(params, lr, decoupled ? 'AdamW' : 'Adam');
    if (!betas.every((b) => b >= 0 && b < 1)) throw new Error(`${this.kind}: betas [${betas}] must lie in [0, 1)`);
    if (!(eps >= 0) || !(weightDecay >= 0)) throw new Error(`${this.kind}: invalid eps ${eps} or weight decay ${weightDecay}`);
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decoupled = decoupled;
    this.setupArenas(fused);
  }

  protected slotNames(): string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  /** The bias corrections depend on the step count. */
  protected runKey(steps: number): number {
    return steps;
  }

  /** m = v = 0 and g = 0 give 0 / (0 + eps): zero for eps > 0, NaN for eps = 0 (then no run spans padding). */
  protected paddingSafe(): boolean {
    return this.eps > 0;
  }

  protected updateRun(params: Tensor, grads: Tensor, slots: Map<string, Tensor>, range: UpdateRange, steps: number): void {
    adamUpdate(params, grads, slots.get('exp_avg')!, slots.get('exp_avg_sq')!, { ...this.adamOptions(steps + 1), range });
  }

  private adamOptions(step: number) {
    return { lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay, decoupled: this.decoupled, step };
  }

  protected update(index: number, param: Tensor, grad: Tensor): void {
    const s = this.stateFor(index, () => [
      ['exp_avg', zeros(param.shape)],
      ['exp_avg_sq', zeros(param.shape)],
    ]);
    s.step++;
    adamUpdate(param, grad, s.slots.get('exp_avg')!, s.slots.get('exp_avg_sq')!, this.adamOptions(s.step));
  }
}
