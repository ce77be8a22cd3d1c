// Containers whose children are named by position, as torch.nn.Sequential / ModuleList name them
// (`conv_conv.0.weight`), so checkpoints line up.
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** A module with a one-tensor forward, the kind Sequential chains. */
export interface Layer extends Module {
  forward(x: Tensor): Tensor;
  /**
   * A fused forward of this layer and the `next` one in a Sequential, or null when the pair does not
   * fuse (BatchNorm2d → LeakyReLU does: one kernel instead of two, the same values).
   */
  fuseNext?(next: Layer): ((x: Tensor) => Tensor) | null;
}

export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new Error(`ModuleList: index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** Applies its layers in order. Intermediate results belong to the caller's tidy scope. */
export class Sequential extends ModuleList<Layer> implements Layer {
  constructor(...layers: Layer[]) {
    super(layers);
  }

  forward(x: Tensor): Tensor {
    return this.forwardFrom(0, x);
  }

  /** Layers `start`.. applied to x, fusing the pairs that fuse (Layer.fuseNext). */
  forwardFrom(start: number, x: Tensor): Tensor {
    let y = x;
    for (let i = start; i < this.length; i++) {
      const layer = this.at(i);
      const fused = i + 1 < this.length ? (layer.fuseNext?.(this.at(i + 1)) ?? null) : null;
      if (fused) {
        y = fused(y);
        i++;
      } else y = layer.forward(y);
    }
    return y;
  }
}

/** A parameter-free layer around a function (activations, dropout), so it takes its index in a Sequential. */
export class Lambda extends Module implements Layer {
  constructor(
    readonly name: string,
    private readonly fn: (x: Tensor) => Tensor,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
