// Optimisers over a flat list of parameters (one parameter group): SGD and Adam/AdamW, each step one
// fused in-place dispatch per parameter (kernels/optim.ts). Their state tensors are created on a
// parameter's first step, owned by the optimiser (outside tidy scopes) and never reallocated, so a
// training loop's memory stays flat. `lr` may be changed between steps (learning-rate schedules).
import { adamUpdate, sgdUpdate } from '../../../kernels/optim.js';
import { keep, tidy } from '../tensor/scope.js';
import { fmtShape } from '../tensor/shape.js';
import { empty, tensor, zeros, type Tensor } from '../tensor/tensor.js';

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
 * and non-finite weights after it). They may only record GPU work: a read-back here would cost a
 * round trip per step.
 */
export interface StepHooks {
  beforeStep?: (params: readonly Tensor[]) => void;
  afterStep?: (params: readonly Tensor[]) => void;
}

export abstract class Optimizer {
  protected readonly state: (ParamState | null)[];
  hooks: StepHooks = {};

  constructor(
    readonly params: Tensor[],
    public lr: number,
    readonly kind: string,
  ) {
    if (!(lr >= 0)) throw new Error(`${kind}: invalid learning rate ${lr}`);
    this.state = params.map(() => null);
  }

  /** Update the parameter at `index` from its gradient `grad`. */
  protected abstract update(index: number, param: Tensor, grad: Tensor): void;

  /** One update of every parameter that has a gradient (the others are skipped, as in PyTorch). */
  step(): void {
    this.hooks.beforeStep?.(this.params);
    this.params.forEach((p, i) => {
      if (p.grad) this.update(i, p, p.grad);
    });
    this.hooks.afterStep?.(this.params);
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

  /** Free the optimiser's state (the parameters belong to their module). */
  dispose(): void {
    this.disposeState();
  }
}

export interface SGDOptions {
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

  constructor(params: Tensor[], { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false }: SGDOptions) {
    super(params, lr, 'SGD');
    if (!(momentum >= 0) || !(weightDecay >= 0)) throw new Error(`SGD: invalid momentum ${momentum} or weight decay ${weightDecay}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: nesterov momentum requires a momentum > 0 and zero dampening');
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  protected update(index: number, param: Tensor, grad: Tensor): void {
    const o = { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
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

export interface AdamOptions {
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

  constructor(params: Tensor[], { lr, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, decoupled = false }: AdamOptions) {
    super(params, lr, decoupled ? 'AdamW' : 'Adam');
    if (!betas.every((b) => b >= 0 && b < 1)) throw new Error(`${this.kind}: betas [${betas}] must lie in [0, 1)`);
    if (!(eps >= 0) || !(weightDecay >= 0)) throw new Error(`${this.kind}: invalid eps ${eps} or weight decay ${weightDecay}`);
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decoupled = decoupled;
  }

  protected update(index: number, param: Tensor, grad: Tensor): void {
    const s = this.stateFor(index, () => [
      ['exp_avg', zeros(param.shape)],
      ['exp_avg_sq', zeros(param.shape)],
    ]);
    s.step++;
    adamUpdate(param, grad, s.slots.get('exp_avg')!, s.slots.get('exp_avg_sq')!, {
      lr: this.lr,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weightDecay: this.weightDecay,
      decoupled: this.decoupled,
      step: s.step,
    });
  }
}
