// StyleGAN2-ADA's synthesis network, 'skip' architecture: ws [N, numWs, wDim] → img [N, C, R, R].
// Blocks b4 … bR; b4 starts from a learned 4×4 constant, every other block upsamples 2× in conv0.
// Each block adds its ToRGB output to the running image, which is upsampled 2× (FIR [1, 3, 3, 1])
// between blocks. Names as published: `b8.conv0.affine.weight`, `b8.conv0.noise_const`,
// `b8.torgb.weight`, `b4.const`, … (and every `resample_filter` buffer).
import { add, defaultGenerator, expand, Generator, modulatedConv2d, Module, mul, randn, reshape, setupFilter, ShapeError, slice, type Tensor, tidy, upsample2d, zeros } from '../../engine/index.js';
import { FullyConnectedLayer, RESAMPLE_TAPS, styleganBiasAct, type StyleGanShape } from './layers.js';

/** Channels at a resolution, the published formula: min(⌊channelBase / res⌋, channelMax). */
export function stylegan2Channels(res: number, channelBase: number, channelMax: number): number {
  return Math.min(Math.floor(channelBase / res), channelMax);
}

/** 'random': fresh N(0, 1) per call; 'const': the stored `noise_const`; 'none': no noise. */
export type NoiseMode = 'random' | 'const' | 'none';

export interface SynthesisOptions {
  noiseMode?: NoiseMode;
  /** Source of 'random' noise (default: the engine's default generator). */
  generator?: Generator;
}

interface LayerCall extends SynthesisOptions {
  /** Published `fused_modconv`: one grouped conv with per-sample weights (default outside training). */
  fused: boolean;
}

/** Modulated 3×3 conv with demodulation, per-pixel noise, bias, leaky ReLU (gain √2), clamp. */
export class SynthesisLayer extends Module {
  readonly resampleFilter: Tensor;
  readonly affine: FullyConnectedLayer;
  readonly weight: Tensor;
  readonly noiseConst: Tensor;
  readonly noiseStrength: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    wDim: number,
    readonly resolution: number,
    readonly up: 1 | 2,
    readonly convClamp: number | null,
    rng: Generator,
  ) {
    super();
    this.resampleFilter = this.registerBuffer('resample_filter', () => setupFilter(RESAMPLE_TAPS));
    this.affine = this.registerModule('affine', new FullyConnectedLayer(wDim, inChannels, { biasInit: 1 }, rng));
    this.weight = this.registerParameter('weight', () => randn([outChannels, inChannels, 3, 3], rng));
    this.noiseConst = this.registerBuffer('noise_const', () => randn([resolution, resolution], rng));
    this.noiseStrength = this.registerParameter('noise_strength', () => zeros([]));
    this.bias = this.registerParameter('bias', () => zeros([outChannels]));
  }

  forward(x: Tensor, w: Tensor, call: LayerCall): Tensor {
    const inRes = this.resolution / this.up;
    if (x.rank !== 4 || x.shape[1] !== this.inChannels || x.shape[2] !== inRes || x.shape[3] !== inRes) {
      throw new ShapeError('SynthesisLayer', `expects [N, ${this.inChannels}, ${inRes}, ${inRes}]`, [x.shape]);
    }
    const styles = this.affine.forward(w);
    let y = modulatedConv2d(x, this.weight, styles, {
      demodulate: true,
      padding: 1,
      up: this.up,
      resampleFilter: this.resampleFilter,
      flipWeight: this.up === 1,
      fusedModconv: call.fused,
    });
    const noise = this.noise(x.shape[0], call);
    if (noise) y = add(y, noise);
    return styleganBiasAct(y, this.bias, 'lrelu', Math.SQRT2, this.convClamp);
  }

  private noise(n: number, call: LayerCall): Tensor | null {
    const r = this.resolution;
    switch (call.noiseMode ?? 'random') {
      case 'random':
        return mul(randn([n, 1, r, r], call.generator ?? defaultGenerator()), this.noiseStrength);
      case 'const':
        return mul(this.noiseConst, this.noiseStrength);
      case 'none':
        return null;
    }
  }
}

/** Modulated 1×1 conv without demodulation (styles × 1/√I), bias, clamp: features → image channels. */
export class ToRGBLayer extends Module {
  readonly affine: FullyConnectedLayer;
  readonly weight: Tensor;
  readonly bias: Tensor;
  private readonly weightGain: number;

  constructor(inChannels: number, outChannels: number, wDim: number, readonly convClamp: number | null, rng: Generator) {
    super();
    this.affine = this.registerModule('affine', new FullyConnectedLayer(wDim, inChannels, { biasInit: 1 }, rng));
    this.weight = this.registerParameter('weight', () => randn([outChannels, inChannels, 1, 1], rng));
    this.bias = this.registerParameter('bias', () => zeros([outChannels]));
    this.weightGain = 1 / Math.sqrt(inChannels);
  }

  forward(x: Tensor, w: Tensor, call: LayerCall): Tensor {
    const styles = mul(this.affine.forward(w), this.weightGain);
    const y = modulatedConv2d(x, this.weight, styles, { demodulate: false, fusedModconv: call.fused });
    return styleganBiasAct(y, this.bias, 'linear', 1, this.convClamp);
  }
}

/** One resolution of the 'skip' generator; consumes numConv + 1 consecutive ws (the last for ToRGB). */
export class SynthesisBlock extends Module {
  readonly resampleFilter: Tensor;
  readonly constInput: Tensor | null = null;
  readonly conv0: SynthesisLayer | null = null;
  readonly conv1: SynthesisLayer;
  readonly torgb: ToRGBLayer;
  readonly numConv: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    wDim: number,
    readonly resolution: number,
    imgChannels: number,
    convClamp: number | null,
    rng: Generator,
  ) {
    super();
    this.resampleFilter = this.registerBuffer('resample_filter', () => setupFilter(RESAMPLE_TAPS));
    if (inChannels === 0) {
      this.constInput = this.registerParameter('const', () => randn([outChannels, resolution, resolution], rng));
    } else {
      this.conv0 = this.registerModule('conv0', new SynthesisLayer(inChannels, outChannels, wDim, resolution, 2, convClamp, rng));
    }
    this.conv1 = this.registerModule('conv1', new SynthesisLayer(outChannels, outChannels, wDim, resolution, 1, convClamp, rng));
    this.torgb = this.registerModule('torgb', new ToRGBLayer(outChannels, imgChannels, wDim, convClamp, rng));
    this.numConv = inChannels === 0 ? 1 : 2;
  }

  /** ws [N, numConv + 1, wDim]; x and img are the previous block's (null at b4). */
  forward(x: Tensor | null, img: Tensor | null, ws: Tensor, call: LayerCall): { x: Tensor; img: Tensor } {
    const n = ws.shape[0];
    const w = (i: number) => reshape(slice(ws, 1, i, i + 1), [n, ws.shape[2]]);
    let k = 0;
    if (this.constInput) {
      const c = this.constInput;
      x = expand(reshape(c, [1, ...c.shape]), [n, ...c.shape]);
    } else {
      if (!x) throw new Error(`SynthesisBlock b${this.resolution}: needs the previous block's features`);
      x = this.conv0!.forward(x, w(k++), call);
    }
    x = this.conv1.forward(x, w(k++), call);
    const rgb = this.torgb.forward(x, w(k), call);
    return { x, img: img ? add(upsample2d(img, this.resampleFilter), rgb) : rgb };
  }
}

export interface SynthesisConfig extends StyleGanShape {
  wDim: number;
}

export class SynthesisNetwork extends Module {
  readonly blocks: SynthesisBlock[] = [];
  /** ws the network consumes: every conv's, plus the last ToRGB's (each ToRGB shares the next conv's w). */
  readonly numWs: number;

  constructor(readonly config: SynthesisConfig) {
    super();
    const { wDim, imgResolution: res, imgChannels, channelBase, channelMax, convClamp } = config;
    if (!(res >= 4 && Number.isInteger(Math.log2(res)))) throw new Error(`SynthesisNetwork: imgResolution ${res} must be a power of two ≥ 4`);
    const rng = new Generator(config.seed);
    let numWs = 0;
    for (let r = 4; r <= res; r *= 2) {
      const cin = r === 4 ? 0 : stylegan2Channels(r / 2, channelBase, channelMax);
      const block = new SynthesisBlock(cin, stylegan2Channels(r, channelBase, channelMax), wDim, r, imgChannels, convClamp, rng);
      this.blocks.push(this.registerModule(`b${r}`, block));
      numWs += block.numConv;
    }
    this.numWs = numWs + 1;
  }

  /** ws [N, numWs, wDim] → img [N, imgChannels, R, R]. */
  forward(ws: Tensor, opts: SynthesisOptions = {}): Tensor {
    // A scope of its own: safe to call anywhere, only the outputs (and their graph) leave it.
    return tidy(() => {
      const { numWs } = this;
      const { wDim } = this.config;
      if (ws.rank !== 3 || ws.shape[1] !== numWs || ws.shape[2] !== wDim) {
        throw new ShapeError('SynthesisNetwork', `ws must be [N, ${numWs}, ${wDim}]`, [ws.shape]);
      }
      // Published: per-sample weights in one grouped conv at inference, scaled activations in training.
      const call: LayerCall = { ...opts, fused: !this.training };
      let x: Tensor | null = null;
      let img: Tensor | null = null;
      let at = 0;
      for (const block of this.blocks) {
        ({ x, img } = block.forward(x, img, slice(ws, 1, at, at + block.numConv + 1), call));
        at += block.numConv;
      }
      return img!;
    });
  }
}
