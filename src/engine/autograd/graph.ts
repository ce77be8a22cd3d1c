// Reverse-mode autograd, part 1: recording the graph. Every op imports `record` from here; the
// backward pass that walks the graph (backward.ts) sits above the kernels, because summing gradients
// needs the elementwise ops — kernels → graph.ts ← backward.ts → kernels, with no cycle.
//
// Each differentiable op that sees an input requiring grad attaches a GradNode to its output. The node
// keeps its inputs (graph vertices; their storage may be disposed, their identity is what matters) and
// its own aliases of the tensors its backward needs. Backward functions are written in differentiable
// ops, so with `createGraph` the gradients are themselves recorded and can be differentiated again
// (StyleGAN2's R1 penalty). Saved aliases are dropped once the node's backward has run.
import type { GradFn, Tensor } from '../tensor/tensor.js';
import { adoptNode, withoutScope } from '../tensor/scope.js';

export type BackwardFn = (grad: Tensor, saved: Tensor[]) => (Tensor | null)[];

export class GradNode implements GradFn {
  saved: Tensor[];
  released = false;
  /** The tensor this op produced (its graph vertex). */
  output: Tensor | null = null;

  constructor(
    readonly op: string,
    readonly inputs: Tensor[],
    saved: Tensor[],
    readonly backwardFn: BackwardFn,
  ) {
    this.saved = withoutScope(() => saved.map((t) => t.alias()));
  }

  release(): void {
    if (this.released) return;
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.released = true;
  }

  /** Scopes own nodes (scope.ts): ending one releases the nodes no surviving tensor depends on. */
  dispose(): void {
    this.release();
  }

  graphParents(): GradFn[] {
    const out: GradFn[] = [];
    for (const t of this.inputs) {
      const node = t.root().gradFn;
      if (node) out.push(node);
    }
    return out;
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording a graph. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run `fn` with gradient recording set to `enabled` (backward uses it for createGraph). */
export function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

let backwardDepth = 0;

/**
 * Whether a backward pass is running: the ops it launches compute gradients (kernels/variant.ts keeps
 * their GEMMs in f32, since gradients underflow f16 without loss scaling).
 */
export function inBackward(): boolean {
  return backwardDepth > 0;
}

/** Run `fn` as (part of) a backward pass. */
export function duringBackward<T>(fn: () => T): T {
  backwardDepth++;
  try {
    return fn();
  } finally {
    backwardDepth--;
  }
}

export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t?.requiresGrad);
}

/**
 * Record `output = op(inputs)` if any input requires grad. `backward(g, saved)` returns one gradient
 * per input (null where none), each shaped like its input.
 */
export function record(output: Tensor, op: string, inputs: Tensor[], saved: Tensor[], backward: BackwardFn): Tensor {
  if (!needsGrad(...inputs)) return output;
  output.requiresGrad = true;
  output.gradFn = new GradNode(op, inputs, saved, backward);
  output.gradFn.output = output;
  adoptNode(output.gradFn);
  return output;
}

