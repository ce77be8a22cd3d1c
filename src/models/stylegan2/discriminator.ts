// StyleGAN2-ADA's discriminator, 'resnet' architecture, unconditional: img [N, C, R, R] → logits
// [N, 1]. Blocks bR … b8 each halve the resolution on a residual path (skip: 1×1 conv, FIR
// downsampling, no bias) scaled with the main path by √0.5; the first block reads the image through
// `fromrgb`. The epilogue b4 appends the minibatch standard deviation, then conv, fc, out.
// Names as published: `b64.fromrgb.weight`, `b64.skip.weight`, `b4.conv.weight`, `b4.fc.weight`, …
import { add, concat, expand, flatten, Generator, mean, Module, mul, reshape, setupFilter, ShapeError, sqrt, sub, type Tensor, tidy } from '../../engine/index.js';
import { Conv2dLayer, FullyConnectedLayer, RESAMPLE_TAPS, type StyleGanShape } from './layers.js';
import { stylegan2Channels } from './synthesis.js';

const RESIDUAL_GAIN = Math.SQRT1_2;

/**
 * Appends, per group of `groupSize` samples, the standard deviation over the group averaged over
 * channels and pixels (`numChannels` features of C / numChannels channels each), so the discriminator
 * can see a lack of variety. Samples are grouped by stride: sample i belongs to group i mod (N / G).
 */
export class MinibatchStdLayer extends Module {
  constructor(
    readonly groupSize: number,
    readonly numChannels: number,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const g = Math.min(this.groupSize, n);
    const f = this.numChannels;
    if (n % g || c % f) {
      throw new ShapeError('MinibatchStdLayer', `batch ${n} must be a multiple of the group size ${g}, channels ${c} of ${f}`, [x.shape]);
    }
    const grouped = reshape(x, [g, n / g, f, c / f, h, w]);
    const centred = sub(grouped, mean(grouped, 0, true));
    const std = sqrt(add(mean(mul(centred, centred), 0), 1e-8)); // [n/G, F, c, H, W]
    const perGroup = reshape(mean(std, [2, 3, 4]), [1, n / g, f, 1, 1]);
    const stat = reshape(expand(perGroup, [g, n / g, f, h, w]), [n, f, h, w]);
    return concat([x, stat], 1);
  }
}

/** fromrgb (first block only), conv0 3×3, conv1 3×3 with 2× downsampling, and the residual skip. */
export class DiscriminatorBlock extends Module {
  readonly resampleFilter: Tensor;
  readonly fromrgb: Conv2dLayer | null = null;
  readonly conv0: Conv2dLayer;
  readonly conv1: Conv2dLayer;
  readonly skip: Conv2dLayer;

  constructor(
    readonly inChannels: number,
    tmpChannels: number,
    outChannels: number,
    readonly resolution: number,
    imgChannels: number,
    convClamp: number | null,
    rng: Generator,
  ) {
    super();
    this.resampleFilter = this.registerBuffer('resample_filter', () => setupFilter(RESAMPLE_TAPS));
    const lrelu = { activation: 'lrelu' as const, convClamp };
    if (inChannels === 0) this.fromrgb = this.registerModule('fromrgb', new Conv2dLayer(imgChannels, tmpChannels, 1, lrelu, rng));
    this.conv0 = this.registerModule('conv0', new Conv2dLayer(tmpChannels, tmpChannels, 3, lrelu, rng));
    this.conv1 = this.registerModule('conv1', new Conv2dLayer(tmpChannels, outChannels, 3, { ...lrelu, down: 2 }, rng));
    this.skip = this.registerModule('skip', new Conv2dLayer(tmpChannels, outChannels, 1, { bias: false, down: 2 }, rng));
  }

  /** The first block reads `img`; later ones the previous block's features `x`. */
  forward(x: Tensor | null, img: Tensor): Tensor {
    const features = this.fromrgb ? this.fromrgb.forward(img) : x;
    if (!features) throw new Error(`DiscriminatorBlock b${this.resolution}: needs the previous block's features`);
    const residual = this.skip.forward(features, RESIDUAL_GAIN);
    return add(residual, this.conv1.forward(this.conv0.forward(features), RESIDUAL_GAIN));
  }
}

/** b4: minibatch std, conv 3×3, fc over the flattened 4×4 features, out → 1 logit. */
export class DiscriminatorEpilogue extends Module {
  readonly mbstd: MinibatchStdLayer | null;
  readonly conv: Conv2dLayer;
  readonly fc: FullyConnectedLayer;
  readonly out: FullyConnectedLayer;

  constructor(channels: number, resolution: number, mbstdGroupSize: number, mbstdChannels: number, convClamp: number | null, rng: Generator) {
    super();
    this.mbstd = mbstdChannels > 0 ? this.registerModule('mbstd', new MinibatchStdLayer(mbstdGroupSize, mbstdChannels)) : null;
    this.conv = this.registerModule('conv', new Conv2dLayer(channels + mbstdChannels, channels, 3, { activation: 'lrelu', convClamp }, rng));
    this.fc = this.registerModule('fc', new FullyConnectedLayer(channels * resolution * resolution, channels, { activation: 'lrelu' }, rng));
    this.out = this.registerModule('out', new FullyConnectedLayer(channels, 1, {}, rng));
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.forward(this.mbstd ? this.mbstd.forward(x) : x);
    return this.out.forward(this.fc.forward(flatten(y, 1)));
  }
}

export interface DiscriminatorConfig extends StyleGanShape {
  /** Published default 4 (the group shrinks to the batch when the batch is smaller). */
  mbstdGroupSize: number;
  /** Published default 1; 0 disables the layer. */
  mbstdChannels: number;
}

export class Discriminator extends Module {
  readonly blocks: DiscriminatorBlock[] = [];
  readonly epilogue: DiscriminatorEpilogue;

  constructor(readonly config: DiscriminatorConfig) {
    super();
    const { imgResolution: res, imgChannels, channelBase, channelMax, convClamp } = config;
    if (!(res >= 8 && Number.isInteger(Math.log2(res)))) throw new Error(`Discriminator: imgResolution ${res} must be a power of two ≥ 8`);
    const rng = new Generator(config.seed);
    const ch = (r: number) => stylegan2Channels(r, channelBase, channelMax);
    for (let r = res; r > 4; r /= 2) {
      const block = new DiscriminatorBlock(r === res ? 0 : ch(r), ch(r), ch(r / 2), r, imgChannels, convClamp, rng);
      this.blocks.push(this.registerModule(`b${r}`, block));
    }
    this.epilogue = this.registerModule('b4', new DiscriminatorEpilogue(ch(4), 4, config.mbstdGroupSize, config.mbstdChannels, convClamp, rng));
  }

  /** img [N, imgChannels, R, R] → logits [N, 1]. */
  forward(img: Tensor): Tensor {
    // A scope of its own: safe to call anywhere, only the outputs (and their graph) leave it.
    return tidy(() => {
      const { imgResolution: r, imgChannels: c } = this.config;
      if (img.rank !== 4 || img.shape[1] !== c || img.shape[2] !== r || img.shape[3] !== r) {
        throw new ShapeError('Discriminator', `expects images [N, ${c}, ${r}, ${r}]`, [img.shape]);
      }
      let x: Tensor | null = null;
      for (const block of this.blocks) x = block.forward(x, img);
      return this.epilogue.forward(x!);
    });
  }
}
