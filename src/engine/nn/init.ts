// Weight initialisations with PyTorch's formulas (torch.nn.init), drawn on the GPU from the
// counter-based Philox generator of kernels/random.ts (the default one unless a generator is passed;
// reseed it with `manualSeed`). Same distributions as PyTorch, not the same numbers.
import { add, mul } from '../../../kernels/elementwise.js';
import { defaultGenerator, Generator, rand, randn } from '../../../kernels/random.js';
import { tidy } from '../tensor/scope.js';
import { numel, ShapeError, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';


/** offset + scale·x, with x's storage freed. */
function affine(make: () => Tensor, scale: number, offset: number): Tensor {
  return tidy(() => add(mul(make(), scale), offset));
}

/** torch.nn.init._calculate_fan_in_and_fan_out: dim 1 and dim 0, times the receptive field. */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new ShapeError('init.fans', 'fan in and fan out need at least 2 dimensions', [shape]);
  const receptive = numel(shape.slice(2));
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

/** torch.nn.init.calculate_gain (`param` is leaky_relu's negative slope, 0.01 by default). */
export function calculateGain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + param * param));
  }
}

export function uniform(shape: Shape, lo: number, hi: number, rng: Generator = defaultGenerator()): Tensor {
  return affine(() => rand(shape, rng), hi - lo, lo);
}

export function normal(shape: Shape, mean = 0, std = 1, rng: Generator = defaultGenerator()): Tensor {
  return affine(() => randn(shape, rng), std, mean);
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (PyTorch's `a`). */
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
  rng?: Generator;
}

function kaimingStd(shape: Shape, o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}

/** torch.nn.init.kaiming_uniform_: U(−b, b) with b = gain·√(3 / fan). */
export function kaimingUniform(shape: Shape, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(shape, o);
  return uniform(shape, -bound, bound, o.rng);
}

/** The default weight of torch's Linear and Conv layers: kaiming_uniform_(a = √5), i.e. U(±1/√fan_in). */
export function defaultWeight(shape: Shape, rng: Generator = defaultGenerator()): Tensor {
  return kaimingUniform(shape, { a: Math.sqrt(5), rng });
}

/** The default bias of torch's Linear and Conv layers: U(±1/√fan_in) of their weight. */
export function defaultBias(size: number, weightShape: Shape, rng: Generator = defaultGenerator()): Tensor {
  const { fanIn } = fans(weightShape);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([size], -bound, bound, rng);
}
