// The building blocks StyleGAN2-ADA shares between its networks (NVlabs/stylegan2-ada-pytorch,
// training/networks.py): layers with an equalised learning rate, i.e. weights stored as N(0, 1) (over
// the learning-rate multiplier) and scaled at run time by 1/√fan_in, so that Adam sees every
// parameter at the same scale. Parameter and buffer names are the published ones.
import { type Activation, add, biasAct, conv2dResample, full, type Generator, linear, mean, Module, mul, randn, rsqrt, setupFilter, ShapeError, type Tensor } from '../../engine/index.js';

/** The low-pass filter of every resampling step, [1, 3, 3, 1]⊗[1, 3, 3, 1] / 64. */
export const RESAMPLE_TAPS = [1, 3, 3, 1];

/** The negative slope of StyleGAN's leaky ReLU. */
export const LRELU_SLOPE = 0.2;

/** The published `def_gain` of an activation: √2 for (leaky) ReLU, keeping the signal's variance. */
export function defaultActGain(act: Activation): number {
  return act === 'linear' ? 1 : Math.SQRT2;
}

/** x / √(mean(x², dim 1) + 1e-8): each latent row scaled to unit second moment. */
export function normalize2ndMoment(x: Tensor): Tensor {
  return mul(x, rsqrt(add(mean(mul(x, x), 1, true), 1e-8)));
}

/** biasAct with the StyleGAN leaky-ReLU slope; `clamp` null means none. */
export function styleganBiasAct(x: Tensor, bias: Tensor | null, act: Activation, gain: number, clamp: number | null): Tensor {
  return biasAct(x, bias, { act, alpha: LRELU_SLOPE, gain, clamp, dim: 1 });
}

export interface FullyConnectedOptions {
  bias?: boolean;
  activation?: Activation;
  /** Scales the effective learning rate of this layer (0.01 in the mapping network). */
  lrMultiplier?: number;
  /** Initial value of the bias (1 for the style affines, so that styles start around 1). */
  biasInit?: number;
}

/** y = act(x·(W·lr/√in)ᵀ + b·lr), W drawn from N(0, 1/lr²). */
export class FullyConnectedLayer extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly activation: Activation;
  private readonly weightGain: number;
  private readonly biasGain: number;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: FullyConnectedOptions,
    rng: Generator,
  ) {
    super();
    const lr = opts.lrMultiplier ?? 1;
    this.activation = opts.activation ?? 'linear';
    this.weight = this.registerParameter('weight', () => mul(randn([outFeatures, inFeatures], rng), 1 / lr));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', () => full([outFeatures], opts.biasInit ?? 0));
    this.weightGain = lr / Math.sqrt(inFeatures);
    this.biasGain = lr;
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new ShapeError('FullyConnectedLayer', `expects [N, ${this.inFeatures}]`, [x.shape, this.weight.shape]);
    }
    const w = mul(this.weight, this.weightGain);
    const b = this.bias && (this.biasGain === 1 ? this.bias : mul(this.bias, this.biasGain));
    if (this.activation === 'linear') return linear(x, w, b ?? undefined);
    return styleganBiasAct(linear(x, w), b, this.activation, defaultActGain(this.activation), null);
  }
}

export interface EqualizedConv2dOptions {
  bias?: boolean;
  activation?: Activation;
  up?: number;
  down?: number;
  /** Clamp the activations to ±convClamp (scaled by the call's gain); null for none. */
  convClamp?: number | null;
}

/** The discriminator's convolution: weight·1/√(I·k²), FIR-filtered up/downsampling, bias, activation. */
export class Conv2dLayer extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly resampleFilter: Tensor;
  readonly activation: Activation;
  readonly up: number;
  readonly down: number;
  readonly convClamp: number | null;
  private readonly weightGain: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: EqualizedConv2dOptions,
    rng: Generator,
  ) {
    super();
    this.activation = opts.activation ?? 'linear';
    this.up = opts.up ?? 1;
    this.down = opts.down ?? 1;
    this.convClamp = opts.convClamp ?? null;
    this.weightGain = 1 / Math.sqrt(inChannels * kernelSize * kernelSize);
    this.resampleFilter = this.registerBuffer('resample_filter', () => setupFilter(RESAMPLE_TAPS));
    this.weight = this.registerParameter('weight', () => randn([outChannels, inChannels, kernelSize, kernelSize], rng));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', () => full([outChannels], 0));
  }

  /** `gain` scales the output and the clamp (√0.5 on the two branches of a residual block). */
  forward(x: Tensor, gain = 1): Tensor {
    const y = conv2dResample(x, mul(this.weight, this.weightGain), this.resampleFilter, {
      up: this.up,
      down: this.down,
      padding: Math.floor(this.kernelSize / 2),
      // Published: correlation when not upsampling; the transposed path wants the flip.
      flipWeight: this.up === 1,
    });
    const clamp = this.convClamp === null ? null : this.convClamp * gain;
    return styleganBiasAct(y, this.bias, this.activation, defaultActGain(this.activation) * gain, clamp);
  }
}

/** What the synthesis network and the discriminator share: the image and the channel schedule. */
export interface StyleGanShape {
  imgResolution: number;
  imgChannels: number;
  /** Channels at resolution r: min(⌊channelBase / r⌋, channelMax). Published: 32768 and 512. */
  channelBase: number;
  channelMax: number;
  /** Clamp every conv's activations to ±convClamp (published training configs: 256); null: none. */
  convClamp: number | null;
  /** Seeds the weight initialisation. */
  seed: number;
}
