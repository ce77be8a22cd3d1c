// Layers as modules, with PyTorch's parameter names and default initialisation, so that a
// state dict maps one to one onto torch.nn's.
import { batchNorm2d } from '../../../kernels/norm.js';
import { conv2d } from '../../../kernels/conv2d.js';
import { leakyRelu } from '../../../kernels/elementwise.js';
import { maxPool2d } from '../../../kernels/pool.js';
import { dropout, type Generator } from '../../../kernels/random.js';
import { full } from '../../../kernels/elementwise.js';
import { zeros, type Tensor } from '../tensor/tensor.js';
import { defaultBias, defaultWeight } from './init.js';
import type { Layer } from './containers.js';
import { Module } from './module.js';

export interface Conv2dLayerOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: Conv2dLayerOptions = {},
    rng?: Generator,
  ) {
    super();
    const groups = options.groups ?? 1;
    const shape = [outChannels, inChannels / groups, kernelSize, kernelSize];
    this.weight = this.registerParameter('weight', () => defaultWeight(shape, rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', () => defaultBias(outChannels, shape, rng));
  }

  forward(x: Tensor): Tensor {
    const { stride = 1, padding = 0, dilation = 1, groups = 1 } = this.options;
    return conv2d(x, this.weight, this.bias ?? undefined, { stride, padding, dilation, groups });
  }
}

/** BatchNorm2d with running statistics as buffers (momentum 0.1, eps 1e-5, as PyTorch). */
export class BatchNorm2d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;

  constructor(
    readonly channels: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.registerParameter('weight', () => full([channels], 1));
    this.bias = this.registerParameter('bias', () => zeros([channels]));
    this.runningMean = this.registerBuffer('running_mean', () => zeros([channels]));
    this.runningVar = this.registerBuffer('running_var', () => full([channels], 1));
    // PyTorch's int64 counter, kept (as i32) so state dicts line up. PyTorch only reads it when
    // momentum is None, which we do not support, so it is loaded and saved but not incremented.
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', () => zeros([], 'i32'));
  }

  /** `leakySlope`: a LeakyReLU fused after the normalisation (kernels/norm.ts), as Sequential does. */
  forward(x: Tensor, leakySlope: number | null = null): Tensor {
    return batchNorm2d(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      leakySlope,
    });
  }

  /** BatchNorm2d → LeakyReLU runs as one fused op, with the composition's values bit for bit. */
  fuseNext(next: Layer): ((x: Tensor) => Tensor) | null {
    return next instanceof LeakyReLU ? (x) => this.forward(x, next.slope) : null;
  }
}

export class LeakyReLU extends Module implements Layer {
  constructor(readonly slope = 0.01) {
    super();
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.slope);
  }
}

/** Inverted dropout driven by a seeded GPU generator (identity in eval mode or when p = 0). */
export class Dropout extends Module implements Layer {
  constructor(
    readonly p: number,
    private readonly generator: () => Generator,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, true, this.generator());
  }
}

export class MaxPool2d extends Module implements Layer {
  constructor(readonly kernel: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernel);
  }
}
