// Reverse-mode autograd.
//
// Each differentiable op that sees an input requiring grad attaches a GradNode to its output. The node
// keeps its inputs (graph vertices; their storage may be disposed, their identity is what matters) and
// its own aliases of the tensors its backward needs. Backward functions are written in differentiable
// ops, so with `createGraph` the gradients are themselves recorded and can be differentiated again
// (StyleGAN2's R1 penalty). Saved aliases are dropped once the node's backward has run.
import { Tensor } from '../tensor/tensor.js';
import { keep, tidy, withoutScope } from '../tensor/scope.js';
import { fmtShape, sameShape } from '../tensor/shape.js';

export type BackwardFn = (grad: Tensor, saved: Tensor[]) => (Tensor | null)[];

export class GradNode {
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

function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
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
  return output;
}

/** Nodes reachable from `root`, in an order where every node comes after all nodes that consume it. */
function topoOrder(root: Tensor): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const start = root.root().gradFn;
  if (!start) return order;
  // Iterative post-order DFS (graphs of deep networks overflow a recursive one).
  const stack: [GradNode, number][] = [[start, 0]];
  seen.add(start);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const next = node.inputs[i].root().gradFn;
      if (next && !seen.has(next) && !next.released) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Gradient of the output (default: ones, only for a single-element output). */
  grad?: Tensor;
  /** Keep saved tensors so backward can run again through this graph. */
  retainGraph?: boolean;
  /** Record the backward itself so its results can be differentiated (implies retainGraph). */
  createGraph?: boolean;
}

/** Gradients of `output` with respect to `inputs` (like torch.autograd.grad); leaves' .grad untouched. */
export function grad(output: Tensor, inputs: Tensor[], options: BackwardOptions = {}): (Tensor | null)[] {
  const result = runBackward(output, options, inputs.map((t) => t.root()));
  return inputs.map((t) => result.get(t.root()) ?? null);
}

/** Accumulate d(output)/d(leaf) into every leaf's `.grad`. */
export function backward(output: Tensor, options: BackwardOptions = {}): void {
  runBackward(output, options, null);
}

function runBackward(output: Tensor, options: BackwardOptions, wanted: Tensor[] | null): Map<Tensor, Tensor> {
  const root = output.root();
  if (!root.requiresGrad) {
    throw new Error(`backward: the output ${fmtShape(output.shape)} does not require grad (no input had requiresGrad, or it was computed under noGrad)`);
  }
  if (!options.grad && output.size !== 1) {
    throw new Error(`backward: output of shape ${fmtShape(output.shape)} is not a scalar; pass options.grad`);
  }
  const createGraph = options.createGraph ?? false;
  const retain = options.retainGraph ?? createGraph;
  const wantedSet = wanted ? new Set(wanted) : null;
  const results = new Map<Tensor, Tensor>();

  withGrad(createGraph, () =>
    tidy(() => {
      const grads = new Map<Tensor, Tensor>();
      const seed = options.grad ?? onesLike(output);
      grads.set(root, seed);
      const order = topoOrder(root);
      for (const node of order) {
        const vertex = node.output!;
        const g = grads.get(vertex);
        if (!g) continue; // not on a path from the output
        grads.delete(vertex);
        // An intermediate asked for (e.g. ws inside G for the path-length penalty): its gradient is complete here.
        if (wantedSet?.has(vertex)) results.set(vertex, keep(g.share()));
        const inGrads = node.backwardFn(g, node.saved);
        // A backward may pass its incoming gradient through, or return one tensor for two inputs:
        // give each use its own handle so that disposing one leaves the others intact.
        const used = new Set<Tensor>([g]);
        for (let i = 0; i < inGrads.length; i++) {
          const gi = inGrads[i];
          if (gi && used.has(gi)) inGrads[i] = gi.share();
          else if (gi) used.add(gi);
        }
        if (g !== seed) g.dispose();
        node.inputs.forEach((input, i) => {
          const gi = inGrads[i];
          if (!gi) return;
          const v = input.root();
          if (!v.requiresGrad) {
            gi.dispose();
            return;
          }
          if (!sameShape(gi.shape, v.shape)) {
            throw new Error(`backward of ${node.op}: gradient ${fmtShape(gi.shape)} does not match input ${fmtShape(v.shape)}`);
          }
          const prev = grads.get(v);
          if (prev) {
            grads.set(v, addGrad(prev, gi));
            prev.dispose();
            gi.dispose();
          } else grads.set(v, gi);
        });
        if (!retain) node.release();
      }
      // What is left in `grads` are leaves (or inputs of released subgraphs).
      for (const [v, g] of grads) {
        if (wantedSet) {
          if (wantedSet.has(v)) results.set(v, keep(g));
        } else if (!v.gradFn) {
          if (v.grad) {
            const sum = keep(addGrad(v.grad, g));
            v.grad.dispose();
            v.grad = sum;
          } else v.grad = keep(g);
        }
      }
    }),
  );
  return results;
}

// Late-bound elementwise helpers (kernels import this module, so it cannot import them statically).
let addImpl: ((a: Tensor, b: Tensor) => Tensor) | null = null;
let onesLikeImpl: ((t: Tensor) => Tensor) | null = null;

export function registerAutogradHelpers(add: (a: Tensor, b: Tensor) => Tensor, onesLike: (t: Tensor) => Tensor): void {
  addImpl = add;
  onesLikeImpl = onesLike;
}

function addGrad(a: Tensor, b: Tensor): Tensor {
  return addImpl!(a, b);
}

function onesLike(t: Tensor): Tensor {
  return onesLikeImpl!(t);
}
