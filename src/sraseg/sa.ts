// The similarity-alignment term (eq. 15–16): each synthetic representation pulled toward its nearest
// real one, λ·mean_i min_j ‖f_syn,i − f_real,j‖₂ (kernels/sa-loss.ts). A frozen image embedder
// (DINOv2) sees both sides, as the paper states, and the only trainable thing the term can move is
// the segmentation network: the SA term owns no parameters, and the constructor refuses an embedder
// with a trainable weight. Modes (docs/METHOD.md says which images each embeds):
// - 'prediction' (default): DINOv2 embeds the network's soft prediction of each synthetic image and
//   the one-hot ground truth of each real one (foreground classes as the three colour channels); the
//   gradient reaches the network only through its own prediction, through the frozen ViT.
// - 'features': DINOv2 embeds the raw synthetic and real images and only *chooses* each synthetic
//   image's nearest real one; the distance is then taken between the network's own representations
//   of the two (its bottleneck averaged over space), the real side detached. No head between them.
// - 'published': both sides are DINOv2 embeddings of raw images, as the published code computes it
//   (there with an ImageNet ViT): the term changes the logged loss only; no gradient can reach the
//   network.
import { add, concat, matmul, mean, mul, noGrad, oneHot, reshape, saLoss, slice, softmax, sqrt, sub, sum, type Tensor, tidy } from '../engine/index.js';
import { preprocessDinov2, type Dinov2 } from '../models/vit.js';

export type SaMode = 'prediction' | 'features' | 'published';
export const SA_MODES: readonly SaMode[] = ['prediction', 'features', 'published'];

/** The segmentation network as the SA term sees it (the UNet satisfies it). */
export interface SaNetwork {
  /** Logits [B, C, H, W] and the bottleneck [B, K, h, w] of one forward pass. */
  forwardAll(x: Tensor): { logits: Tensor; bottleneck: Tensor };
  /** The bottleneck alone, when cheaper than a whole forward (the UNet's encoder). */
  encode?(x: Tensor): Tensor;
}

/** A frozen image embedder: images [B, 1 or 3, H, W] → embeddings [B, D], differentiable in the images. */
export interface ImageEmbedder {
  embed(images: Tensor): Tensor;
  /** Its weights; every one must have requiresGrad = false. */
  parameters(): Tensor[];
}

/** DINOv2's image embedding (the normalised CLS token) at `size`² (a multiple of the 14-pixel patch). */
export function dinov2Embedder(vit: Dinov2, size = 224): ImageEmbedder & { vit: Dinov2; size: number } {
  if (!Number.isInteger(size) || size <= 0 || size % vit.config.patchSize) {
    throw new Error(`SA: the ViT's image side ${size} must be a positive multiple of its ${vit.config.patchSize}-pixel patch (--vit-size)`);
  }
  return {
    vit,
    size,
    embed: (images) => tidy(() => vit.forward(preprocessDinov2(images, { size: [size, size] })).pooled),
    parameters: () => vit.parameters(),
  };
}

export interface SaOptions {
  mode: SaMode;
  /** Weight λ of the term (0.1 in the paper). */
  lambda: number;
}

/** The images of one SA evaluation (chosen by the trainer: see `saInputs` in steps.ts). */
export interface SaBatch {
  /** Synthetic side: images [N, 1, H, W]. */
  synthetic: Tensor;
  /** The network's forward on `synthetic` when the step already made it (mixed inputs); else it is run here. */
  syntheticOut?: { logits: Tensor; bottleneck: Tensor };
  /** Real side: labeled images [M, 1, H, W] and their one-hot ground truth [M, C, H, W]. */
  real: Tensor;
  realOneHot: Tensor;
}

export interface SaResult {
  /** L_SA (eq. 16), unweighted; differentiable in the network's parameters except in 'published' mode. */
  term: Tensor;
  /** λ·L_SA, the part added to the training loss. */
  weighted: Tensor;
  /** i32 [N]: each synthetic image's nearest real image (by the embedder in every mode). */
  nearest: Tensor;
}

export class SaTerm {
  constructor(
    readonly embedder: ImageEmbedder,
    readonly options: SaOptions,
  ) {
    if (!SA_MODES.includes(options.mode)) throw new Error(`SA: unknown mode '${options.mode}' (expected ${SA_MODES.join(' | ')})`);
    if (!(options.lambda >= 0)) throw new Error(`SA: λ must be ≥ 0, got ${options.lambda}`);
    if (embedder.parameters().some((p) => p.requiresGrad)) throw new Error('SA: the embedder must be frozen (a trainable weight could lower the term without the network)');
  }

  /** Parameters the SA term itself could train: none, by construction. */
  trainableParameters(): Tensor[] {
    return [];
  }

  /** λ·L_SA and its parts; intermediates are disposed here (the autograd graph keeps what backward needs). */
  loss(network: SaNetwork, batch: SaBatch): SaResult {
    return tidy(() => this.compute(network, batch));
  }

  private compute(network: SaNetwork, batch: SaBatch): SaResult {
    const { mode, lambda } = this.options;
    const embedNoGrad = (x: Tensor) => noGrad(() => this.embedder.embed(x));
    let term: Tensor;
    let nearest: Tensor;
    if (mode === 'prediction') {
      const fReal = embedNoGrad(asColour(batch.realOneHot));
      const logits = batch.syntheticOut?.logits ?? network.forwardAll(batch.synthetic).logits;
      const fSyn = this.embedder.embed(asColour(softmax(logits, 1)));
      ({ loss: term, nearest } = saLoss(fSyn, fReal));
    } else if (mode === 'published') {
      ({ loss: term, nearest } = noGrad(() => saLoss(this.embedder.embed(batch.synthetic), this.embedder.embed(batch.real))));
    } else {
      // DINOv2 picks the partner; the network's own representations are compared.
      nearest = noGrad(() => saLoss(this.embedder.embed(batch.synthetic), this.embedder.embed(batch.real)).nearest);
      // The encoder alone when there is no forward to reuse: a decoder branch that the loss never
      // reaches would keep its autograd records (and their buffers) alive.
      const bottleneck = batch.syntheticOut?.bottleneck ?? (network.encode ? network.encode(batch.synthetic) : network.forwardAll(batch.synthetic).bottleneck);
      const gSyn = pooled(bottleneck);
      const gReal = noGrad(() => pooled(network.encode ? network.encode(batch.real) : network.forwardAll(batch.real).bottleneck));
      // Row i of onehot(nearest) · gReal is gReal[nearest[i]]: a gather without a read-back.
      const partner = noGrad(() => matmul(oneHot(nearest, gReal.shape[0], 1), gReal));
      term = mean(pairDistance(gSyn, partner));
    }
    return { term, weighted: mul(term, lambda), nearest };
  }
}

/** [B, K, h, w] → [B, K]: the representation averaged over space. */
function pooled(bottleneck: Tensor): Tensor {
  return reshape(mean(bottleneck, [2, 3]), [bottleneck.shape[0], bottleneck.shape[1]]);
}

/** ‖a_i − b_i‖₂ per row; the 1e−12 keeps the gradient finite (zero) where the rows coincide. */
function pairDistance(a: Tensor, b: Tensor): Tensor {
  const d = sub(a, b);
  return sqrt(add(sum(mul(d, d), 1), 1e-12));
}

/** Class maps [B, C, H, W] as 3-channel images: the foreground classes (1..C−1), repeated if fewer than 3. */
export function asColour(maps: Tensor): Tensor {
  const fg = slice(maps, 1, 1, Math.min(4, maps.shape[1]));
  const k = fg.shape[1];
  return k === 3 ? fg : concat(Array.from({ length: 3 }, (_, i) => slice(fg, 1, i % k, (i % k) + 1)), 1);
}
