// Reverse-mode autograd, part 2: the backward pass over one topological order of the recorded graph
// (graph.ts). It sums gradients with the elementwise kernels, so it sits above them in the engine's
// layering (kernels import only graph.ts).
import { add, onesLike } from '../../../kernels/elementwise.js';
import { keep, tidy } from '../tensor/scope.js';
import { fmtShape, sameShape } from '../tensor/shape.js';
import type { GradFn, Tensor } from '../tensor/tensor.js';
import { duringBackward, withGrad } from './graph.js';

/** Nodes reachable from `root`, in an order where every node comes after all nodes that consume it. */
function topoOrder(root: Tensor): GradFn[] {
  const order: GradFn[] = [];
  const seen = new Set<GradFn>();
  const start = root.root().gradFn;
  if (!start) return order;
  // Iterative post-order DFS (graphs of deep networks overflow a recursive one).
  const stack: [GradFn, number][] = [[start, 0]];
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

  // The gradients asked for leave the scope as its result: they belong to the caller's scope, like
  // any op's output (leaves' .grad are owned by their leaf instead).
  return withGrad(createGraph, () => duringBackward(() =>
    tidy(() => {
      const results = new Map<Tensor, Tensor>();
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
        if (wantedSet?.has(vertex)) results.set(vertex, g.share());
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
            grads.set(v, add(prev, gi));
            prev.dispose();
            gi.dispose();
          } else grads.set(v, gi);
        });
        if (!retain) node.release();
      }
      // What is left in `grads` are leaves (or inputs of released subgraphs).
      for (const [v, g] of grads) {
        if (wantedSet) {
          if (wantedSet.has(v)) results.set(v, g);
        } else if (!v.gradFn) {
          if (v.grad) {
            const sum = keep(add(v.grad, g));
            v.grad.dispose();
            v.grad = sum;
          } else v.grad = keep(g);
        }
      }
      return results;
    }),
  ));
}
