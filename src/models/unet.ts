// The UNet of SSL4MIS / BCP, the backbone of every table in the SRA-Seg paper (see
// ../shared/SRA-SEG-NOTES.md): encoder [16, 32, 64, 128, 256] with dropout [0.05, 0.1, 0.2, 0.3, 0.5],
// bilinear (align_corners) upsampling after a 1×1 conv in the decoder, no transposed convs.
// Module and parameter names follow the PyTorch code so that its checkpoints load one to one.
import { BatchNorm2d, concat, Conv2d, Dropout, Generator, LeakyReLU, MaxPool2d, Module, resizeBilinear, runtime, Sequential, ShapeError, slice, type Tensor, tidy } from '../engine/index.js';

export interface UNetConfig {
  inChannels: number;
  numClasses: number;
  features: number[];
  dropout: number[];
  /** Seed for weight initialisation. */
  seed: number;
  /**
   * Largest tensor one storage binding may hold (default: the adapter's limit, 128 MiB on Dawn→OpenGL).
   * The full-resolution decoder concatenation of a large batch can exceed it; see UpBlock.
   */
  maxBindingBytes?: number;
}

export const UNET_DEFAULTS: UNetConfig = {
  inChannels: 1,
  numClasses: 4,
  features: [16, 32, 64, 128, 256],
  dropout: [0.05, 0.1, 0.2, 0.3, 0.5],
  seed: 1337,
};

/** Conv3×3 → BN → LeakyReLU → Dropout → Conv3×3 → BN → LeakyReLU, as `conv_conv.{0,1,4,5}`. */
class ConvBlock extends Module {
  readonly convConv: Sequential;

  constructor(cin: number, cout: number, p: number, rng: Generator, gen: () => Generator) {
    super();
    this.convConv = this.registerModule(
      'conv_conv',
      new Sequential(
        new Conv2d(cin, cout, 3, { padding: 1 }, rng),
        new BatchNorm2d(cout),
        new LeakyReLU(0.01),
        new Dropout(p, gen),
        new Conv2d(cout, cout, 3, { padding: 1 }, rng),
        new BatchNorm2d(cout),
        new LeakyReLU(0.01),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    return this.convConv.forward(x);
  }
}

class DownBlock extends Module {
  readonly maxpoolConv: Sequential;

  constructor(cin: number, cout: number, p: number, rng: Generator, gen: () => Generator) {
    super();
    this.maxpoolConv = this.registerModule('maxpool_conv', new Sequential(new MaxPool2d(2), new ConvBlock(cin, cout, p, rng, gen)));
  }

  forward(x: Tensor): Tensor {
    return this.maxpoolConv.forward(x);
  }
}

class UpBlock extends Module {
  readonly conv1x1: Conv2d;
  readonly conv: ConvBlock;

  constructor(
    cDeep: number,
    cSkip: number,
    cout: number,
    rng: Generator,
    gen: () => Generator,
    private readonly maxBindingBytes: () => number,
  ) {
    super();
    this.conv1x1 = this.registerModule('conv1x1', new Conv2d(cDeep, cSkip, 1, {}, rng));
    this.conv = this.registerModule('conv', new ConvBlock(cSkip * 2, cout, 0, rng, gen));
  }

  forward(deep: Tensor, skip: Tensor): Tensor {
    const reduced = this.conv1x1.forward(deep);
    const up = resizeBilinear(reduced, [skip.shape[2], skip.shape[3]], true);
    const [B, C, H, W] = skip.shape;
    const perImage = 2 * C * H * W * 4;
    const chunk = Math.max(1, Math.floor(this.maxBindingBytes() / perImage));
    if (chunk >= B) return this.conv.forward(concat([skip, up], 1));
    // The concatenation would not fit one storage binding (e.g. [24, 32, 256, 256] = 201 MB on a 128 MiB
    // adapter). The first conv is per image, so concatenate and convolve a few images at a time; its
    // output has half the channels, and BatchNorm then sees the whole batch as usual.
    const layers = this.conv.convConv;
    const parts: Tensor[] = [];
    for (let b = 0; b < B; b += chunk) {
      const e = Math.min(B, b + chunk);
      parts.push(layers.at(0).forward(concat([slice(skip, 0, b, e), slice(up, 0, b, e)], 1)));
    }
    return layers.forwardFrom(1, concat(parts, 0));
  }
}

class Encoder extends Module {
  readonly blocks: Module[];

  constructor(c: UNetConfig, rng: Generator, gen: () => Generator) {
    super();
    const f = c.features;
    const d = c.dropout;
    this.blocks = [
      this.registerModule('in_conv', new ConvBlock(c.inChannels, f[0], d[0], rng, gen)),
      this.registerModule('down1', new DownBlock(f[0], f[1], d[1], rng, gen)),
      this.registerModule('down2', new DownBlock(f[1], f[2], d[2], rng, gen)),
      this.registerModule('down3', new DownBlock(f[2], f[3], d[3], rng, gen)),
      this.registerModule('down4', new DownBlock(f[3], f[4], d[4], rng, gen)),
    ];
  }

  /** Feature maps at the five scales, finest first. */
  forward(x: Tensor): Tensor[] {
    // A scope of its own: safe to call anywhere, only the outputs (and their graph) leave it.
    return tidy(() => {
      const out: Tensor[] = [];
      let h = x;
      for (const b of this.blocks) {
        h = (b as ConvBlock | DownBlock).forward(h);
        out.push(h);
      }
      return out;
    });
  }
}

class Decoder extends Module {
  readonly ups: UpBlock[];
  readonly outConv: Conv2d;

  constructor(c: UNetConfig, rng: Generator, gen: () => Generator) {
    super();
    const f = c.features;
    const limit = () => c.maxBindingBytes ?? runtime().ctx.limits.maxStorageBufferBindingSize;
    this.ups = [
      this.registerModule('up1', new UpBlock(f[4], f[3], f[3], rng, gen, limit)),
      this.registerModule('up2', new UpBlock(f[3], f[2], f[2], rng, gen, limit)),
      this.registerModule('up3', new UpBlock(f[2], f[1], f[1], rng, gen, limit)),
      this.registerModule('up4', new UpBlock(f[1], f[0], f[0], rng, gen, limit)),
    ];
    this.outConv = this.registerModule('out_conv', new Conv2d(f[0], c.numClasses, 3, { padding: 1 }, rng));
  }

  forward(feats: Tensor[]): { logits: Tensor; features: Tensor } {
    let x = feats[4];
    for (let i = 0; i < 4; i++) x = this.ups[i].forward(x, feats[3 - i]);
    return { logits: this.outConv.forward(x), features: x };
  }
}

export interface UNetOutput {
  /** [B, C, H, W] class scores. */
  logits: Tensor;
  /** The bottleneck [B, 256, H/16, W/16] (for the SA loss's feature mode). */
  bottleneck: Tensor;
  /** The decoder's last feature map [B, 16, H, W] (for the domain-gap plot). */
  features: Tensor;
}

export class UNet extends Module {
  readonly config: UNetConfig;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  /** Dropout's random stream; its state is part of a resumable checkpoint. */
  readonly generator: Generator;

  constructor(config: Partial<UNetConfig> = {}) {
    super();
    this.config = { ...UNET_DEFAULTS, ...config };
    const rng = new Generator(this.config.seed);
    this.generator = new Generator(this.config.seed + 1);
    const gen = () => this.generator;
    this.encoder = this.registerModule('encoder', new Encoder(this.config, rng, gen));
    this.decoder = this.registerModule('decoder', new Decoder(this.config, rng, gen));
  }

  forwardAll(x: Tensor): UNetOutput {
    // A scope of its own: safe to call anywhere, only the outputs (and their graph) leave it.
    return tidy(() => {
      if (x.rank !== 4 || x.shape[1] !== this.config.inChannels) {
        throw new ShapeError('UNet', `expects [B, ${this.config.inChannels}, H, W]`, [x.shape]);
      }
      if (x.shape[2] % 16 || x.shape[3] % 16) {
        throw new ShapeError('UNet', 'height and width must be multiples of 16 (four 2× poolings)', [x.shape]);
      }
      const feats = this.encoder.forward(x);
      const { logits, features } = this.decoder.forward(feats);
      return { logits, bottleneck: feats[4], features };
    });
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.forwardAll(x).logits); // the bottleneck and features go with the scope
  }

  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }
}
