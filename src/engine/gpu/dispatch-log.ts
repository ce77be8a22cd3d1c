// An opt-in observer of every kernel launch (kernels/common.ts `run` reports each one): what ran,
// with which geometry, operands and uniform values. Tests use it to see which kernels a step took
// (e.g. that a fused BatchNorm + LeakyReLU replaced two kernels), bench/roofline.js to derive each
// dispatch's FLOPs and bytes from its real shapes. Off by default: one null check per launch.

/** One kernel launch as `run` saw it. */
export interface DispatchRecord {
  /** The kernel's cache key (family:variant…). */
  key: string;
  /** The op that launched it (error messages use the same name). */
  op: string;
  /** Workgroup size and grid (workgroups per dimension). */
  wg: number;
  grid: readonly [number, number, number];
  /** Bytes of each storage binding as bound (a tensor: its elements × 4), in binding order (1..). */
  bindingBytes: readonly number[];
  /** Shapes of the operands that are tensors (null for a raw buffer binding), in binding order. */
  shapes: readonly (readonly number[] | null)[];
  /** The uniform values, as the kernel packed them. */
  values: Readonly<Record<string, unknown>>;
}

export type DispatchObserver = (d: DispatchRecord) => void;

let observer: DispatchObserver | null = null;

/** Install `fn` (or none); returns the observer it replaced, to restore nesting callers. */
export function observeDispatches(fn: DispatchObserver | null): DispatchObserver | null {
  const previous = observer;
  observer = fn;
  return previous;
}

/** The installed observer, or null (kernels/common.ts builds a record only when there is one). */
export function dispatchObserver(): DispatchObserver | null {
  return observer;
}
