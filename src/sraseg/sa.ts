// The similarity-alignment term (eq. 15–16): synthetic representations pulled toward their nearest
// real ones, λ·mean_i min_j ‖f_syn,i − f_real,j‖ (kernels/sa-loss.ts), with f_real the frozen DINOv2
// embedding of the real labeled images. Modes (../shared/SRA-SEG-NOTES.md):
// - 'features': f_syn is the segmentation network's own representation of each synthetic image — its
//   bottleneck, averaged over space, through a learned 1×1 projection to DINOv2's width — so the
//   gradient reaches the UNet (and the projection).
// - 'prediction': DINOv2 embeds the student's soft prediction of each synthetic image and the one-hot
//   ground truth of each real one (foreground classes as the three colour channels); the gradient
//   flows back through the frozen ViT into the UNet.
// - 'published': both sides are DINOv2 embeddings of raw images, as the published code computes it:
//   the term changes the logged loss only; no gradient can reach the UNet.
import { concat, Conv2d, type Generator, mean, mul, noGrad, reshape, saLoss, slice, softmax, type Tensor } from '../engine/index.js';
import type { UNet } from '../models/unet.js';
import { preprocessDinov2, type Dinov2 } from '../models/vit.js';

export type SaMode = 'features' | 'prediction' | 'published';

export interface SaOptions {
  mode: SaMode;
  /** Weight λ of the term (0.1 in the paper). */
  lambda: number;
  /** Side the images are resized to for the ViT (a multiple of 14; 224 by default). */
  vitSize?: number;
}

export class SaTerm {
  /** 1×1 conv = a linear map from the bottleneck's channels to DINOv2's width ('features' mode). */
  readonly projection: Conv2d | null;

  constructor(
    readonly vit: Dinov2,
    bottleneckChannels: number,
    readonly options: SaOptions,
    rng?: Generator,
  ) {
    this.projection = options.mode === 'features' ? new Conv2d(bottleneckChannels, vit.config.embedDim, 1, {}, rng) : null;
  }

  /** DINOv2 embeddings [B, D] of images [B, 1 or 3, H, W]; differentiable with respect to the images. */
  embed(images: Tensor): Tensor {
    const size = this.options.vitSize ?? 224;
    return this.vit.forward(preprocessDinov2(images, { size: [size, size] })).pooled;
  }

  /**
   * λ·SA for synthetic (unlabeled) images against real (labeled) ones; `realOneHot` [B, C, H, W] is
   * needed in 'prediction' mode only.
   */
  loss(student: UNet, synthetic: Tensor, real: Tensor, realOneHot?: Tensor): Tensor {
    let fSyn: Tensor;
    let fReal: Tensor;
    if (this.options.mode === 'prediction') {
      if (!realOneHot) throw new Error("SA 'prediction' mode needs the real images' one-hot labels");
      fReal = noGrad(() => this.embed(asColour(realOneHot)));
      fSyn = this.embed(asColour(softmax(student.forward(synthetic), 1)));
      return mul(saLoss(fSyn, fReal).loss, this.options.lambda);
    }
    fReal = noGrad(() => this.embed(real));
    if (this.projection) {
      const bottleneck = student.encoder.forward(synthetic)[4]; // the encoder alone: no decoder needed
      const pooled = mean(bottleneck, [2, 3], true); // [B, 256, 1, 1]
      fSyn = reshape(this.projection.forward(pooled), [synthetic.shape[0], this.vit.config.embedDim]);
    } else fSyn = noGrad(() => this.embed(synthetic));
    return mul(saLoss(fSyn, fReal).loss, this.options.lambda);
  }

  dispose(): void {
    this.projection?.dispose();
  }
}

/** Class maps [B, C, H, W] as 3-channel images: the foreground classes (1..C−1), repeated if fewer than 3. */
function asColour(maps: Tensor): Tensor {
  const fg = slice(maps, 1, 1, Math.min(4, maps.shape[1]));
  const k = fg.shape[1];
  return k === 3 ? fg : concat(Array.from({ length: 3 }, (_, i) => slice(fg, 1, i % k, (i % k) + 1)), 1);
}
