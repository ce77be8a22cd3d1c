// Scoped ownership: `tidy(fn)` disposes every tensor created inside `fn` except what `fn` returns
// (or what was `keep()`-ed). Scopes nest; returned tensors move to the enclosing scope.
/** What a scope owns: a tensor handle (structurally; this module does not import tensor.ts). */
export interface Owned {
  dispose(): void;
}

type Scope = Set<Owned>;
const scopes: Scope[] = [];
let suspended = 0;

/** Called by the Tensor constructor. */
export function trackInScope(t: Owned): void {
  if (suspended === 0 && scopes.length) scopes[scopes.length - 1].add(t);
}

/** Take `t` out of every scope: its owner is now the caller, who must dispose it. */
export function keep<T extends Owned>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
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

export function tidy<T>(fn: () => T): T {
  const scope: Scope = new Set();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new Error('tidy: the function returned a Promise; tidy scopes are synchronous (read back outside them)');
  }
  const survivors = collectTensors(result);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Number of open scopes (tests use it to check nothing leaks a scope). */
export function scopeDepth(): number {
  return scopes.length;
}
