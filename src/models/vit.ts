// DINOv2's vision transformer (facebookresearch/dinov2, dinov2/models/vision_transformer.py and
// dinov2/layers/), the frozen feature extractor of the SA loss. Parameter names are the torch-hub
// checkpoints' (`blocks.N.attn.qkv.weight`, `blocks.N.ls1.gamma`, `pos_embed`, ...), so those load
// one to one; src/models/vit-weights.ts maps Hugging Face names onto them.
//
// Per block (pre-norm, LayerNorm eps 1e-6): x += ls1 ⊙ proj(attention(norm1(x))), then
// x += ls2 ⊙ ffn(norm2(x)), ffn = fc2(GELU(fc1(·))) (ratio 4) or SwiGLU for ViT-g. Tokens:
// [CLS, registers..., patches...]; position embeddings cover CLS and patches only, and are resampled
// to the input's grid (src/models/pos-embed.ts).
import { add, attention, concat, Conv2d, div, expand, full, gelu, Generator, layerNorm, linear, mean, Module, ModuleList, mul, nnInit, permute, reshape, resizeBilinear, ShapeError, sigmoid, slice, sub, tensor, type Tensor, tidy, transpose, zeros } from '../engine/index.js';
import { interpolatePatchPositions } from './pos-embed.js';

export type Dinov2Ffn = 'mlp' | 'swiglu';

export interface Dinov2Config {
  embedDim: number;
  depth: number;
  numHeads: number;
  patchSize: number;
  /** Side of the square position-embedding grid of pretraining (518² / 14 = 37). */
  pretrainGrid: number;
  /** Register tokens (the `_reg` variants have 4). */
  numRegisters: number;
  ffn: Dinov2Ffn;
  /** Hidden width of the feed-forward block (4·D for the MLP; SwiGLU's rounded 2/3 of that). */
  ffnHidden: number;
  /**
   * DINOv2's `interpolate_offset`: 0.1 for the released models without registers (resize by the
   * factor (g + 0.1)/M), 0 for the `_reg` ones (resize to the exact size).
   */
  interpolateOffset: number;
  /** DINOv2's `interpolate_antialias`: false without registers, true for the `_reg` models. */
  interpolateAntialias: boolean;
  inChannels: number;
}

/** SwiGLU hidden width as DINOv2's SwiGLUFFNFused rounds it: (⌊(4D)·2/3⌋ + 7) // 8 · 8. */
export const swigluHidden = (dim: number) => Math.floor((Math.floor(4 * dim * 2 / 3) + 7) / 8) * 8;

function variant(embedDim: number, depth: number, numHeads: number, ffn: Dinov2Ffn, numRegisters = 0): Dinov2Config {
  return {
    embedDim,
    depth,
    numHeads,
    patchSize: 14,
    pretrainGrid: 37,
    numRegisters,
    ffn,
    ffnHidden: ffn === 'mlp' ? 4 * embedDim : swigluHidden(embedDim),
    // As dinov2/hub/backbones.py builds them: the _reg models resize antialiased to the exact size.
    interpolateOffset: numRegisters ? 0 : 0.1,
    interpolateAntialias: numRegisters > 0,
    inChannels: 3,
  };
}

/** The released configurations (torch hub `dinov2_vit{s,b,l,g}14[_reg]`). */
export const DINOV2_CONFIGS = {
  vits14: variant(384, 12, 6, 'mlp'),
  vitb14: variant(768, 12, 12, 'mlp'),
  vitl14: variant(1024, 24, 16, 'mlp'),
  vitg14: variant(1536, 40, 24, 'swiglu'),
  vits14_reg: variant(384, 12, 6, 'mlp', 4),
  vitb14_reg: variant(768, 12, 12, 'mlp', 4),
  vitl14_reg: variant(1024, 24, 16, 'mlp', 4),
  vitg14_reg: variant(1536, 40, 24, 'swiglu', 4),
} as const satisfies Record<string, Dinov2Config>;

// ---------------------------------------------------------------------------------------------
// Layers (PyTorch names: weight, bias, gamma)

class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(inF: number, outF: number, rng: Generator) {
    super();
    this.weight = this.registerParameter('weight', () => nnInit.defaultWeight([outF, inF], rng));
    this.bias = this.registerParameter('bias', () => nnInit.defaultBias(outF, [outF, inF], rng));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(dim: number) {
    super();
    this.weight = this.registerParameter('weight', () => full([dim], 1));
    this.bias = this.registerParameter('bias', () => full([dim], 0));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, 1e-6);
  }
}

class LayerScale extends Module {
  readonly gamma: Tensor;
  constructor(dim: number) {
    super();
    this.gamma = this.registerParameter('gamma', () => full([dim], 1e-5));
  }
  forward(x: Tensor): Tensor {
    return mul(x, this.gamma);
  }
}

class SelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(
    dim: number,
    readonly numHeads: number,
    rng: Generator,
  ) {
    super();
    this.qkv = this.registerModule('qkv', new Linear(dim, 3 * dim, rng));
    this.proj = this.registerModule('proj', new Linear(dim, dim, rng));
  }
  forward(x: Tensor): Tensor {
    const [b, n, d] = x.shape;
    const h = this.numHeads;
    // [B, N, 3D] → [3, B, H, N, Dh]: the q, k, v of every head, each contiguous.
    const qkv = permute(reshape(this.qkv.forward(x), [b, n, 3, h, d / h]), [2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((i) => reshape(slice(qkv, 0, i, i + 1), [b, h, n, d / h]));
    const o = attention(q, k, v, 1 / Math.sqrt(d / h));
    return this.proj.forward(reshape(transpose(o, 1, 2), [b, n, d]));
  }
}

class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(dim: number, hidden: number, rng: Generator) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(dim, hidden, rng));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, dim, rng));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(gelu(this.fc1.forward(x)));
  }
}

/** SwiGLUFFNFused: w3(silu(x1) ⊙ x2) with [x1, x2] = w12(x) split in halves. */
class SwiGlu extends Module {
  readonly w12: Linear;
  readonly w3: Linear;
  constructor(dim: number, hidden: number, rng: Generator) {
    super();
    this.w12 = this.registerModule('w12', new Linear(dim, 2 * hidden, rng));
    this.w3 = this.registerModule('w3', new Linear(hidden, dim, rng));
  }
  forward(x: Tensor): Tensor {
    const x12 = this.w12.forward(x);
    const hidden = x12.shape[x12.rank - 1] / 2;
    const x1 = slice(x12, -1, 0, hidden);
    const x2 = slice(x12, -1, hidden, 2 * hidden);
    return this.w3.forward(mul(mul(x1, sigmoid(x1)), x2));
  }
}

class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: SelfAttention;
  readonly ls1: LayerScale;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp | SwiGlu;
  readonly ls2: LayerScale;
  constructor(c: Dinov2Config, rng: Generator) {
    super();
    const d = c.embedDim;
    this.norm1 = this.registerModule('norm1', new LayerNorm(d));
    this.attn = this.registerModule('attn', new SelfAttention(d, c.numHeads, rng));
    this.ls1 = this.registerModule('ls1', new LayerScale(d));
    this.norm2 = this.registerModule('norm2', new LayerNorm(d));
    this.mlp = this.registerModule('mlp', c.ffn === 'mlp' ? new Mlp(d, c.ffnHidden, rng) : new SwiGlu(d, c.ffnHidden, rng));
    this.ls2 = this.registerModule('ls2', new LayerScale(d));
  }
  forward(x: Tensor): Tensor {
    const y = add(x, this.ls1.forward(this.attn.forward(this.norm1.forward(x))));
    return add(y, this.ls2.forward(this.mlp.forward(this.norm2.forward(y))));
  }
}

/**
 * The patch embedding, a convolution with kernel = stride = patch ([B, C, H, W] → [B, gh·gw, D]),
 * computed as what it is: one GEMM of the flattened patches with the kernel
 * seen as [D, C·p·p]. (Also sidesteps the direct conv kernel's input gradient, whose per-invocation
 * loop over 384+ output channels × 14² taps exceeds llvmpipe's loop cap.) The weight keeps the
 * conv's [D, C, p, p] shape and name, as in the checkpoints.
 */
class PatchEmbed extends Module {
  readonly proj: Conv2d;
  constructor(
    readonly patchSize: number,
    inChannels: number,
    dim: number,
    rng: Generator,
  ) {
    super();
    this.proj = this.registerModule('proj', new Conv2d(inChannels, dim, patchSize, { stride: patchSize }, rng));
  }
  forward(x: Tensor): Tensor {
    const p = this.patchSize;
    const [b, c, h, w] = x.shape;
    const [gh, gw] = [h / p, w / p];
    // [B, C, gh, p, gw, p] → [B, gh, gw, C, p, p]: each patch's values in the kernel's (C, p, p) order.
    const patches = permute(reshape(x, [b, c, gh, p, gw, p]), [0, 2, 4, 1, 3, 5]);
    const kernel = reshape(this.proj.weight, [this.proj.weight.shape[0], c * p * p]);
    return linear(reshape(patches, [b, gh * gw, c * p * p]), kernel, this.proj.bias ?? undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// The model

export type Dinov2Pooling = 'cls' | 'patchMean' | 'clsPatchMean';

export interface Dinov2Output {
  /** Before the final norm ("x_prenorm"): CLS [B, D], registers [B, R, D], patches [B, gh·gw, D]. */
  clsToken: Tensor;
  registerTokens: Tensor;
  patchTokens: Tensor;
  /** The hub's forward_features: after the final norm. */
  xNormClsToken: Tensor;
  xNormRegTokens: Tensor;
  xNormPatchTokens: Tensor;
  /**
   * The image embedding: 'cls' = x_norm_clstoken (what the hub model's forward returns, the
   * default), 'patchMean' = the mean normalised patch token, 'clsPatchMean' = both concatenated.
   */
  pooled: Tensor;
  /** Patch grid [gh, gw]. */
  grid: [number, number];
}

export class Dinov2 extends Module {
  readonly config: Dinov2Config;
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: Tensor;
  readonly posEmbed: Tensor;
  readonly registerTokens: Tensor | null;
  /** Used by DINOv2's masked-image training only; kept so checkpoints load strictly. */
  readonly maskToken: Tensor;
  readonly blocks: ModuleList<Block>;
  readonly norm: LayerNorm;

  constructor(config: Dinov2Config, seed = 0) {
    super();
    const c = (this.config = { ...config });
    if (c.embedDim % c.numHeads) throw new Error(`Dinov2: width ${c.embedDim} is not a multiple of ${c.numHeads} heads`);
    const rng = new Generator(seed);
    const d = c.embedDim;
    this.clsToken = this.registerParameter('cls_token', () => nnInit.normal([1, 1, d], 0, 1e-6, rng));
    this.posEmbed = this.registerParameter('pos_embed', () => nnInit.normal([1, 1 + c.pretrainGrid ** 2, d], 0, 0.02, rng));
    this.registerTokens = c.numRegisters ? this.registerParameter('register_tokens', () => nnInit.normal([1, c.numRegisters, d], 0, 1e-6, rng)) : null;
    this.maskToken = this.registerParameter('mask_token', () => zeros([1, d]));
    this.patchEmbed = this.registerModule('patch_embed', new PatchEmbed(c.patchSize, c.inChannels, d, rng));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: c.depth }, () => new Block(c, rng))));
    this.norm = this.registerModule('norm', new LayerNorm(d));
  }

  /** Weights stop requiring grad (activations stay differentiable, so gradients reach the input). */
  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }

  /** Position embeddings for a gh × gw grid from an H × W image, as interpolate_pos_encoding. */
  positions(gh: number, gw: number, height: number, width: number): Tensor {
    const m = this.config.pretrainGrid;
    // DINOv2 returns the stored embedding only for a square image on the pretraining grid.
    if (gh === m && gw === m && height === width) return this.posEmbed;
    const d = this.config.embedDim;
    const cls = reshape(slice(this.posEmbed, 1, 0, 1), [1, 1, d]);
    const patches = reshape(slice(this.posEmbed, 1, 1, 1 + m * m), [m * m, d]);
    const resized = interpolatePatchPositions(patches, gh, gw, this.config.interpolateOffset, this.config.interpolateAntialias);
    return concat([cls, reshape(resized, [1, gh * gw, d])], 1);
  }

  /** Tokens [B, 1 + R + gh·gw, D] after the last block, before the final norm. */
  forwardTokens(x: Tensor): { tokens: Tensor; grid: [number, number] } {
    const c = this.config;
    if (x.rank !== 4 || x.shape[1] !== c.inChannels) throw new ShapeError('Dinov2', `expects images [B, ${c.inChannels}, H, W]`, [x.shape]);
    const [b, , height, width] = x.shape;
    // DINOv2's PatchEmbed asserts this too; preprocessDinov2 resizes to such sizes.
    if (!height || !width || height % c.patchSize || width % c.patchSize) {
      throw new ShapeError('Dinov2', `image sides must be positive multiples of the ${c.patchSize}-pixel patch`, [x.shape]);
    }
    const grid: [number, number] = [height / c.patchSize, width / c.patchSize];
    let tokens = tidy(() => {
      const patches = this.patchEmbed.forward(x);
      const cls = expand(this.clsToken, [b, 1, c.embedDim]);
      let t = add(concat([cls, patches], 1), this.positions(grid[0], grid[1], height, width));
      if (this.registerTokens) {
        const regs = expand(this.registerTokens, [b, c.numRegisters, c.embedDim]);
        t = concat([slice(t, 1, 0, 1), regs, slice(t, 1, 1, t.shape[1])], 1);
      }
      return t;
    });
    for (const block of this.blocks) {
      const prev = tokens;
      tokens = tidy(() => block.forward(prev));
      prev.dispose();
    }
    return { tokens, grid };
  }

  forward(x: Tensor, pooling: Dinov2Pooling = 'cls'): Dinov2Output {
    // A scope of its own: safe to call anywhere, only the outputs (and their graph) leave it.
    return tidy(() => {
      const { tokens, grid } = this.forwardTokens(x);
      const r = this.config.numRegisters;
      const n = tokens.shape[1];
      const d = this.config.embedDim;
      const b = tokens.shape[0];
      const split = (t: Tensor) => ({
        cls: reshape(slice(t, 1, 0, 1), [b, d]),
        regs: slice(t, 1, 1, 1 + r),
        patches: slice(t, 1, 1 + r, n),
      });
      const normed = this.norm.forward(tokens);
      const raw = split(tokens);
      const nrm = split(normed);
      tokens.dispose();
      normed.dispose();
      const pooled =
        pooling === 'cls' ? nrm.cls.share()
        : pooling === 'patchMean' ? mean(nrm.patches, 1)
        : tidy(() => concat([nrm.cls, mean(nrm.patches, 1)], 1));
      return {
        clsToken: raw.cls,
        registerTokens: raw.regs,
        patchTokens: raw.patches,
        xNormClsToken: nrm.cls,
        xNormRegTokens: nrm.regs,
        xNormPatchTokens: nrm.patches,
        pooled,
        grid,
      };
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Preprocessing

export interface Dinov2Preprocess {
  /** Output size [H, W] (multiples of the patch size; default 224²); null keeps the input size. */
  size?: [number, number] | null;
  /** Per-channel mean and standard deviation (default ImageNet's, as DINOv2's transforms). */
  mean?: [number, number, number];
  std?: [number, number, number];
}

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/**
 * Images [B, 1 or 3, H, W] with intensities in [0, 1] → DINOv2's input: a single channel repeated
 * to three, resized (bilinear, align_corners=False) to `size`, normalised per channel. Differentiable
 * in the images.
 */
export function preprocessDinov2(x: Tensor, opts: Dinov2Preprocess = {}): Tensor {
  if (x.rank !== 4 || (x.shape[1] !== 1 && x.shape[1] !== 3)) throw new ShapeError('preprocessDinov2', 'expects images [B, 1 or 3, H, W]', [x.shape]);
  const size = opts.size === undefined ? ([224, 224] as [number, number]) : opts.size;
  return tidy(() => {
    const [b, , h, w] = x.shape;
    let y = x.shape[1] === 1 ? expand(x, [b, 3, h, w]) : x;
    if (size && (size[0] !== h || size[1] !== w)) y = resizeBilinear(y, size, false);
    const m = tensor(opts.mean ?? IMAGENET_MEAN, [1, 3, 1, 1]);
    const s = tensor(opts.std ?? IMAGENET_STD, [1, 3, 1, 1]);
    return div(sub(y, m), s);
  });
}
