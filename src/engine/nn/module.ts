// Modules: named parameters, named buffers and named children, so that a model's tensors carry
// PyTorch's dotted state-dict names (`encoder.in_conv.conv_conv.0.weight`) and checkpoints map onto
// them one to one.
//
// Ownership: a module owns the tensors registered with it (taken out of every tidy scope) and the
// gradients on its parameters; `dispose()` frees them all, recursively.
import { runtime } from '../gpu/runtime.js';
import { keep, tidy } from '../tensor/scope.js';
import { fmtShape, sameShape } from '../tensor/shape.js';
import { BYTES_PER_ELEMENT, type Tensor } from '../tensor/tensor.js';
import { StateDictMismatch, type ShapeMismatch } from '../errors.js';

export type StateDict = Map<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

function checkName(kind: string, name: string): void {
  if (!name || name.includes('.')) throw new Error(`Module: ${kind} name '${name}' must be non-empty and contain no '.'`);
}

const join = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

export class Module {
  /** Training mode (dropout active, BatchNorm uses batch statistics and updates its running ones). */
  training = true;
  private readonly ownParams = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly ownChildren = new Map<string, Module>();

  /**
   * Register a parameter: a leaf tensor that requires grad, owned by this module from now on. `init`
   * makes it inside a scope of its own, so a module can be constructed anywhere — also where no scope
   * is open, under strict ownership — and only the parameter itself survives.
   */
  protected registerParameter(name: string, init: () => Tensor): Tensor {
    this.checkFree(name);
    checkName('parameter', name);
    const t = keep(tidy(init));
    t.requiresGrad = true;
    this.ownParams.set(name, t);
    return t;
  }

  /** Register a buffer: state that is saved and loaded but not trained (BatchNorm running statistics). */
  protected registerBuffer(name: string, init: () => Tensor): Tensor {
    this.checkFree(name);
    checkName('buffer', name);
    const t = keep(tidy(init));
    this.ownBuffers.set(name, t);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkFree(name);
    checkName('module', name);
    this.ownChildren.set(name, m);
    return m;
  }

  private checkFree(name: string): void {
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.ownChildren.has(name)) {
      throw new Error(`Module: '${name}' is already registered on ${this.constructor.name}`);
    }
  }

  /** This module and all its descendants, depth first, each with its dotted name ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.ownChildren) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  children(): Module[] {
    return [...this.ownChildren.values()];
  }

  /** Parameters in PyTorch's order: a module's own before its children's, children in registration order. */
  namedParameters(): [string, Tensor][] {
    return this.namedModules().flatMap(([prefix, m]) => [...m.ownParams].map(([n, t]): [string, Tensor] => [join(prefix, n), t]));
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    return this.namedModules().flatMap(([prefix, m]) => [...m.ownBuffers].map(([n, t]): [string, Tensor] => [join(prefix, n), t]));
  }

  /**
   * Parameters and buffers by dotted name, in torch's state_dict order (per module: parameters, then
   * buffers, then children). The tensors are the module's own, not copies: do not dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [prefix, m] of this.namedModules()) {
      for (const [n, t] of m.ownParams) out.set(join(prefix, n), t);
      for (const [n, t] of m.ownBuffers) out.set(join(prefix, n), t);
    }
    return out;
  }

  /**
   * Copy values into this module's tensors in place (so optimisers holding them stay valid). Shape
   * or dtype mismatches always throw; missing and unexpected keys throw when `strict` (the default),
   * and are returned either way. The error (StateDictMismatch) carries every bad key and names a few.
   */
  loadStateDict(state: StateDict | Record<string, Tensor>, { strict = true }: { strict?: boolean } = {}): LoadResult {
    const source = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !source.has(k));
    const unexpectedKeys = [...source.keys()].filter((k) => !own.has(k));
    const mismatched: ShapeMismatch[] = [];
    for (const [k, src] of source) {
      const dst = own.get(k);
      if (dst && (!sameShape(dst.shape, src.shape) || dst.dtype !== src.dtype)) {
        mismatched.push({ key: k, expected: `${fmtShape(dst.shape)} ${dst.dtype}`, got: `${fmtShape(src.shape)} ${src.dtype}` });
      }
    }
    if (mismatched.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      throw new StateDictMismatch(this.constructor.name, strict ? missingKeys : [], strict ? unexpectedKeys : [], mismatched);
    }
    const queue = runtime().queue;
    for (const [k, src] of source) {
      const dst = own.get(k);
      // Loading a module's own tensors (or views of them) is a no-op (queue.copy skips a copy onto
      // itself; ranges of one buffer — parameters in one arena — go through a temporary).
      if (dst && dst.size) {
        queue.copy(src.buffer('loadStateDict'), src.byteOffset(), dst.buffer('loadStateDict'), dst.byteOffset(), dst.size * BYTES_PER_ELEMENT);
      }
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Set training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drop every parameter's gradient (PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Free every parameter, gradient and buffer of this module and its descendants. */
  dispose(): void {
    this.zeroGrad();
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}
