// Frozen feature networks for FD/KID between real and synthetic slices, named for what they are:
// 'FD-DINOv2' (the DINOv2 ViT's class token; the paper's SA space) when weights are given, otherwise
// 'FD-UNet-encoder' (a trained segmentation UNet's bottleneck, averaged over space). Neither is the
// Inception network of the FID literature, so values are comparable only within one feature network.
import { mean } from '../../kernels/reduce.js';
import { resizeBilinear } from '../../kernels/resize.js';
import { reshape } from '../../kernels/shape-ops.js';
import { featureStats, frechetDistance, kid } from '../metrics/frechet.js';
import type { UNet } from '../models/unet.js';
import { preprocessDinov2, type Dinov2 } from '../models/vit.js';
import { loadDinov2 } from '../models/vit-weights.js';
import { loadUNet } from '../models/unet-weights.js';
import type { Tensor } from '../tensor/tensor.js';
import type { FeatureNetwork, SetDistance } from './train.js';

/** The UNet encoder's pooled bottleneck [N, 256] of images [N, 1, H, W] in [0, 1], resized to `size`². */
export class UNetEncoderFeatures implements FeatureNetwork {
  readonly name = 'FD-UNet-encoder';
  private readonly unet: UNet;

  constructor(
    checkpoint: string,
    readonly size = 128,
  ) {
    this.unet = loadUNet(checkpoint); // eval mode; gradients are never taken through it: callers embed under noGrad
  }

  embed(images: Tensor): Tensor {
    const x = images.shape[2] === this.size && images.shape[3] === this.size ? images : resizeBilinear(images, [this.size, this.size]);
    const bottleneck = this.unet.encoder.forward(x)[4];
    return reshape(mean(bottleneck, [2, 3]), [images.shape[0], bottleneck.shape[1]]);
  }

  dispose(): void {
    this.unet.dispose();
  }
}

/** DINOv2's class token [N, D] of images [N, 1, H, W] in [0, 1] (grey repeated to RGB, ImageNet-normalised, 224²). */
export class Dinov2Features implements FeatureNetwork {
  readonly name = 'FD-DINOv2';
  readonly vit: Dinov2;

  constructor(
    weights: string,
    readonly size = 224,
  ) {
    this.vit = loadDinov2(weights);
  }

  embed(images: Tensor): Tensor {
    return this.vit.forward(preprocessDinov2(images, { size: [this.size, this.size] })).pooled;
  }

  dispose(): void {
    this.vit.dispose();
  }
}

/** FD between the Gaussians fitted to two feature sets, and KID (unbiased cubic-kernel MMD²). */
export const fdAndKid: SetDistance = (real, fake, dim) => {
  const rows = (a: Float32Array) => Array.from({ length: a.length / dim }, (_, i) => a.subarray(i * dim, (i + 1) * dim));
  const [r, f] = [rows(real), rows(fake)];
  const [sr, sf] = [featureStats(r), featureStats(f)];
  return { fd: frechetDistance(sr.mu, sr.sigma, sf.mu, sf.sigma), kid: kid(f, r) };
};

/** DINOv2 when weights are given, else the UNet encoder when a checkpoint is given, else null. */
export function ganFeatureNetwork(opts: { dinov2?: string; unet?: string; unetSize?: number }): { features: FeatureNetwork; distance: SetDistance; dispose(): void } | null {
  const net = opts.dinov2 ? new Dinov2Features(opts.dinov2) : opts.unet ? new UNetEncoderFeatures(opts.unet, opts.unetSize) : null;
  return net ? { features: net, distance: fdAndKid, dispose: () => net.dispose() } : null;
}
