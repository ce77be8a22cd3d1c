// Scoped ownership, the one model for GPU memory (docs/ARCHITECTURE.md):
//
// - `tidy(fn)` opens a scope: every tensor created inside `fn` belongs to it and is disposed when `fn`
//   ends, except what `fn` returns (it moves to the enclosing scope) or what was `keep()`-ed (its
//   owner is now the code that kept it: a module's parameters, an optimiser's state).
// - `fn` may be async: `await tidy(async () => …)` keeps ownership across `await`. Each async context
//   has its own stack of open scopes (AsyncLocalStorage), so two scopes whose awaits interleave never
//   take each other's tensors, and a training step that awaits a read-back still frees everything.
// - Strict mode (`setStrictOwnership(true)`, or SRASEG_STRICT=1; on in every test) makes a tensor
//   created while no scope is open an error naming the op — a tensor nobody owns cannot go unnoticed.
//   A tensor that must outlive every scope is created inside one and handed out by returning it or
//   by `keep()`. Handles made by `withoutScope` (autograd's saved aliases) are owned by their node.
// - Autograd's nodes (which hold those saved aliases) are owned by the scope open when their op ran.
//   When the scope ends, the nodes its surviving tensors (returned or kept) still depend on move to
//   the enclosing scope with them; every other node is released. So a graph nobody will
//   differentiate again — a path-length or R1 graph retained by `grad(…, { createGraph })`, a forward
//   under grad whose loss was never backpropagated — cannot outlive the step that built it.
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a scope owns: a tensor handle or an autograd node (structurally: no import of either). */
export interface Owned {
  dispose(): void;
  readonly isDisposed?: boolean;
  /** The autograd nodes this value depends on directly (a tensor: the node that made it; a node: its inputs'). */
  graphParents?(): Iterable<Owned>;
}

interface Scope {
  owned: Set<Owned>;
  /** Tensors `keep()` took out of this scope: their graphs stay alive with them. */
  kept: Set<Owned>;
}

const newScope = (): Scope => ({ owned: new Set(), kept: new Set() });

/** The scopes open in the current async context, innermost last. */
const contexts = new AsyncLocalStorage<Scope[]>();
const rootStack: Scope[] = [];
const openScopes = (): Scope[] => contexts.getStore() ?? rootStack;

let suspended = 0;
let strict = process.env.SRASEG_STRICT === '1';

/** An allocation with no owner in strict mode. */
export class OwnershipError extends Error {
  constructor(what: string) {
    super(
      `${what} was created outside any scope (strict ownership): run the code in tidy(() => …) or ` +
        `await tidy(async () => …), and hand out what must live on by returning it or with keep()`,
    );
    this.name = 'OwnershipError';
  }
}

/** Turn strict ownership on or off; returns the previous setting. */
export function setStrictOwnership(on: boolean): boolean {
  const prev = strict;
  strict = on;
  return prev;
}

export function isStrictOwnership(): boolean {
  return strict;
}

/** Called by the Tensor constructor; `describe` names the op and shape for strict mode's error. */
export function trackInScope(t: Owned, describe: () => string): void {
  if (suspended) return;
  const scopes = openScopes();
  if (scopes.length) scopes[scopes.length - 1].owned.add(t);
  else if (strict) {
    t.dispose();
    throw new OwnershipError(describe());
  }
}

/** Called by autograd for each node it records: the innermost open scope owns it (none: its output's holder). */
export function adoptNode(node: Owned): void {
  const scopes = openScopes();
  if (scopes.length) scopes[scopes.length - 1].owned.add(node);
}

/** Take `t` out of every open scope: its owner is now the caller, who must dispose it. */
export function keep<T extends Owned>(t: T): T {
  const scopes = openScopes();
  for (const s of scopes) s.owned.delete(t);
  // A kept tensor with a graph keeps that graph alive until the outermost scope ends.
  if (scopes.length && firstOf(t.graphParents?.())) scopes[scopes.length - 1].kept.add(t);
  return t;
}

function firstOf(items: Iterable<Owned> | undefined): Owned | undefined {
  if (items) for (const x of items) return x;
  return undefined;
}

/** Run `fn` with scope tracking off (for handles owned by something else, such as autograd nodes). */
export function withoutScope<T>(fn: () => T): T {
  suspended++;
  try {
    return fn();
  } finally {
    suspended--;
  }
}

/** Tensors (at any depth of arrays and plain objects) inside a value. */
export function collectTensors(value: unknown, out: Set<Owned> = new Set()): Set<Owned> {
  if (value && typeof value === 'object') {
    const v = value as { dispose?: unknown; shape?: unknown; dtype?: unknown };
    if (typeof v.dispose === 'function' && Array.isArray(v.shape) && typeof v.dtype === 'string') {
      out.add(value as Owned);
    } else if (Array.isArray(value)) {
      for (const v of value) collectTensors(v, out);
    } else if (Object.getPrototypeOf(value) === Object.prototype || value instanceof Map) {
      const vals = value instanceof Map ? [...value.values()] : Object.values(value);
      for (const v of vals) collectTensors(v, out);
    }
  }
  return out;
}

/**
 * Run `fn` in a new scope. Everything it creates is disposed when it ends, except the tensors in its
 * result (they move to the enclosing scope, or to the caller when none is open) and kept ones. With
 * an async `fn` the result is a promise and the scope lasts until it settles.
 */
export function tidy<T>(fn: () => Promise<T>): Promise<T>;
export function tidy<T>(fn: () => T): T;
export function tidy<T>(fn: () => T | Promise<T>): T | Promise<T> {
  const outer = openScopes();
  const parent = outer[outer.length - 1];
  const scope = newScope();
  let result: T | Promise<T>;
  try {
    // The stack is copied (the Set objects are shared): an async `fn` keeps this stack across its
    // awaits while the caller's own stack goes on unchanged.
    result = contexts.run([...outer, scope], fn);
  } catch (err) {
    release(scope, new Set());
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => close(scope, value, parent),
      (err) => {
        release(scope, new Set());
        throw err;
      },
    );
  }
  return close(scope, result, parent);
}

function close<T>(scope: Scope, result: T, parent: Scope | undefined): T {
  const survivors = collectTensors(result);
  // The nodes of this scope that a survivor's (or a kept tensor's) graph still reaches survive too.
  const reachable = new Set<Owned>(survivors);
  // A kept tensor disposed since is no root: nobody can differentiate through it any more.
  const kept = [...scope.kept].filter((k) => !k.isDisposed);
  const stack: Owned[] = [...survivors, ...kept];
  while (stack.length) {
    for (const p of stack.pop()!.graphParents?.() ?? []) {
      if (scope.owned.has(p) && !reachable.has(p)) {
        reachable.add(p);
        stack.push(p);
      }
    }
  }
  release(scope, reachable);
  if (parent) {
    for (const x of reachable) if (scope.owned.has(x)) parent.owned.add(x);
    for (const k of kept) parent.kept.add(k);
  }
  return result;
}

function release(scope: Scope, survivors: Set<Owned>): void {
  for (const x of scope.owned) if (!survivors.has(x)) x.dispose();
}

/** Number of scopes open in the current async context (tests check that nothing leaks a scope). */
export function scopeDepth(): number {
  return openScopes().length;
}
