// Tensors: a shape, a dtype and a reference to GPU storage.
//
// Ownership (the one model for GPU memory, see docs/ARCHITECTURE.md):
// - A Storage is one pooled GPU buffer with a reference count. Tensors are handles on storages; a
//   reshape is a new handle on the same storage.
// - Every handle is owned by the innermost `tidy()` scope open at its creation (async scopes included),
//   or, once returned out of every scope or `keep()`-ed, by the code holding it (scope.ts; strict
//   mode makes a creation with no scope open an error).
//   `dispose()` drops the handle's reference; the buffer returns to the pool when the last one goes.
// - Autograd nodes hold their own handles on what they save, dropped after their backward runs.
// - Using a disposed handle throws an error naming the op and the shape. The GC is never relied on.
import { runtime } from '../gpu/runtime.js';
import { assertShape, fmtShape, numel, type Shape } from './shape.js';
import { trackInScope, withoutScope } from './scope.js';

export type DType = 'f32' | 'i32' | 'u32';

/**
 * The record autograd attaches to a tensor an op produced (autograd/graph.ts's GradNode implements
 * it). Declared here, where tensors are, so that this module does not depend on the autograd one.
 */
export interface GradFn {
  readonly op: string;
  readonly inputs: Tensor[];
  saved: Tensor[];
  released: boolean;
  output: Tensor | null;
  readonly backwardFn: (grad: Tensor, saved: Tensor[]) => (Tensor | null)[];
  release(): void;
  dispose(): void;
  graphParents(): GradFn[];
}

export const BYTES_PER_ELEMENT = 4;

/**
 * GPU memory a tensor lives in: a whole pooled buffer, or a slice of another Storage (a parameter in an
 * optimiser's arena, src/engine/nn/arena.ts) at a byte offset that is a multiple of the adapter's
 * minStorageBufferOffsetAlignment. A slice holds a reference on its parent; the buffer goes back to
 * the pool when the root's last reference goes.
 */
export class Storage {
  refs = 1;
  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes this storage covers (a slice: its whole slot, padding included). */
    readonly bytes: number,
    /** Byte offset in `buffer` (0 for a whole pooled buffer). */
    readonly offset = 0,
    private readonly parent: Storage | null = null,
  ) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) {
      if (this.parent) this.parent.release();
      else runtime().pool.release(this.buffer);
    }
  }

  /** `bytes` bytes of this storage from byte `offset` on, as a storage of their own (retains this one). */
  slice(offset: number, bytes: number): Storage {
    if (offset < 0 || offset + bytes > this.bytes) throw new Error(`Storage.slice: [${offset}, ${offset + bytes}) lies outside ${this.bytes} bytes`);
    return new Storage(this.buffer, bytes, this.offset + offset, this.retain());
  }

  /** True for a slice of another storage. */
  get isSlice(): boolean {
    return this.parent !== null;
  }
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly dtype: DType;
  private storageRef: Storage | null;
  /** Leaf tensors that want a gradient, and every result computed from one while grad is enabled. */
  requiresGrad = false;
  /** Accumulated gradient (leaves only). Owned by this tensor; replaced or disposed by the optimiser. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it is part of a recorded graph. */
  gradFn: GradFn | null = null;
  /**
   * For a handle made by `alias()`: the tensor whose graph identity this handle shares. Autograd
   * sends gradients of an alias to its origin, so saved tensors keep higher-order graphs connected.
   */
  origin: Tensor | null = null;
  name?: string;

  /** `label` names the op that made the tensor (strict ownership's error and the pool's labels). */
  constructor(shape: Shape, dtype: DType, storage: Storage, label = 'tensor') {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.storageRef = storage;
    trackInScope(this, () => `${label}: a ${fmtShape(this.shape)} ${dtype} tensor`);
  }

  /** The autograd node this value came from (scopes keep the graphs of the tensors that survive them). */
  graphParents(): GradFn[] {
    const node = this.root().gradFn;
    return node ? [node] : [];
  }

  get size(): number {
    return numel(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storageRef === null;
  }

  /** The tensor at the root of an alias chain: the vertex autograd uses for this handle. */
  root(): Tensor {
    let t: Tensor = this;
    while (t.origin) t = t.origin;
    return t;
  }

  storage(op = 'tensor'): Storage {
    if (!this.storageRef) {
      throw new Error(`${op}: tensor ${this.name ?? '#' + this.id} of shape ${fmtShape(this.shape)} was used after dispose()`);
    }
    return this.storageRef;
  }

  buffer(op = 'tensor'): GPUBuffer {
    return this.storage(op).buffer;
  }

  /**
   * How a kernel binds this tensor: its whole buffer, or — for a slice (a parameter in an optimiser's
   * arena) — its slot's byte range. Use this, not buffer(), wherever the GPU reads or writes the values.
   */
  binding(op = 'tensor'): { buffer: GPUBuffer; offset?: number; size?: number } {
    const s = this.storage(op);
    return s.isSlice ? { buffer: s.buffer, offset: s.offset, size: s.bytes } : { buffer: s.buffer };
  }

  /** Byte offset of the values in buffer() (non-zero for a slice). */
  byteOffset(op = 'tensor'): number {
    return this.storage(op).offset;
  }

  /**
   * Move this handle onto another storage holding the same values (an optimiser adopting a parameter
   * into its arena): the handle's identity — what modules, optimisers and autograd know it by — stays,
   * its old storage reference is dropped. Engine-internal.
   */
  replaceStorage(storage: Storage): void {
    const old = this.storage('replaceStorage');
    if (storage.bytes < this.size * BYTES_PER_ELEMENT) throw new Error(`replaceStorage: ${storage.bytes} bytes cannot hold ${fmtShape(this.shape)}`);
    this.storageRef = storage;
    old.release();
  }

  /** References on this handle's storage (1: no other handle shares it). */
  get storageRefs(): number {
    return this.storage('storageRefs').refs;
  }

  /** A new handle on the same storage with the same graph identity, owned by the current scope. */
  share(): Tensor {
    const t = new Tensor(this.shape, this.dtype, this.storage('share').retain(), 'share');
    t.origin = this;
    t.requiresGrad = this.requiresGrad;
    return t;
  }

  /** Like share(), but owned by the caller alone (not tracked by scopes): autograd's saved tensors. */
  alias(): Tensor {
    return withoutScope(() => this.share());
  }

  /** A handle on the same storage with another shape (no autograd: use `reshape` from the ops). */
  view(shape: Shape): Tensor {
    if (numel(shape) !== this.size) {
      throw new Error(`view: cannot view ${fmtShape(this.shape)} as ${fmtShape(shape)}`);
    }
    return new Tensor(shape, this.dtype, this.storage('view').retain(), 'view');
  }

  /** Drops this handle's reference, and the gradient it owns (a leaf's `.grad` goes with its leaf). */
  dispose(): void {
    if (!this.storageRef) return;
    this.storageRef.release();
    this.storageRef = null;
    this.grad?.dispose();
    this.grad = null;
  }

  /** Read the values back (flushes the queue). */
  async data(): Promise<Float32Array | Int32Array | Uint32Array> {
    const bytes = this.size * BYTES_PER_ELEMENT;
    if (bytes === 0) return newTyped(this.dtype, 0);
    const raw = await runtime().queue.read(this.buffer('data'), this.byteOffset('data'), bytes);
    return this.dtype === 'f32' ? new Float32Array(raw) : this.dtype === 'i32' ? new Int32Array(raw) : new Uint32Array(raw);
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, not 1`);
    return (await this.data())[0];
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', grad' : ''})`;
  }
}

export function newTyped(dtype: DType, n: number): Float32Array | Int32Array | Uint32Array {
  return dtype === 'f32' ? new Float32Array(n) : dtype === 'i32' ? new Int32Array(n) : new Uint32Array(n);
}

/** A tensor with uninitialised storage from the pool (every kernel writes all its outputs). */
export function empty(shape: Shape, dtype: DType = 'f32', label = 'tensor'): Tensor {
  assertShape(label, shape);
  const bytes = Math.max(numel(shape), 1) * BYTES_PER_ELEMENT;
  const buf = runtime().pool.acquire(bytes, label);
  return new Tensor(shape, dtype, new Storage(buf, bytes), label);
}

/** Upload host data. */
export function tensor(data: ArrayLike<number>, shape?: Shape, dtype: DType = 'f32'): Tensor {
  const s = shape ?? [data.length];
  if (numel(s) !== data.length) {
    throw new Error(`tensor: ${data.length} values cannot fill shape ${fmtShape(s)}`);
  }
  const t = empty(s, dtype, 'upload');
  const matches =
    (dtype === 'f32' && data instanceof Float32Array) ||
    (dtype === 'i32' && data instanceof Int32Array) ||
    (dtype === 'u32' && data instanceof Uint32Array);
  let typed = data as Float32Array | Int32Array | Uint32Array;
  if (!matches) {
    typed = newTyped(dtype, data.length);
    for (let i = 0; i < data.length; i++) typed[i] = data[i];
  }
  if (typed.length) runtime().queue.write(t.buffer('tensor'), t.byteOffset('tensor'), typed);
  return t;
}

/** Zeros, cleared on the GPU queue. */
export function zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
  const t = empty(shape, dtype, 'zeros');
  const bytes = t.size * BYTES_PER_ELEMENT;
  if (bytes) runtime().queue.clear(t.buffer(), t.byteOffset(), Math.ceil(bytes / 4) * 4);
  return t;
}
