// Frozen feature networks for FD/KID between real and synthetic slices, named for what they are:
// 'FD-DINOv2' (the DINOv2 ViT's class token; the paper's SA space) when weights are given, otherwise
// 'FD-UNet-encoder' (a trained segmentation UNet's bottleneck, averaged over space). Neither is the
// Inception network of the FID literature, so values are comparable only within one feature network.
import { add, mean, mul, noGrad, reshape, resizeBilinear, type Tensor, tidy } from '../engine/index.js';
import { featureStats, frechetDistance, kid, type KidOptions } from '../metrics/frechet.js';
import type { UNet } from '../models/unet.js';
import { loadUNet } from '../models/unet-weights.js';
import { preprocessDinov2, type Dinov2 } from '../models/vit.js';
import { loadDinov2 } from '../models/vit-weights.js';

/** What the snapshots measure FD/KID with: a frozen network embedding images in [0, 1]. */
export interface FeatureNetwork {
  /** Named honestly in the log ('FD-DINOv2', 'FD-UNet-encoder'). */
  readonly name: string;
  /** images [N, 1, H, W] in [0, 1] → features [N, D]. */
  embed(images: Tensor): Tensor;
}

/** FD (and KID) between feature sets, [N, D] row-major on the host. */
export type SetDistance = (real: Float32Array, fake: Float32Array, dim: number) => { fd: number; kid?: number };

/** Images per forward pass when embedding a set: a generator's activations for a whole set at once can exceed an adapter's largest buffer (Dawn→OpenGL: 128 MiB). */
export const EMBED_CHUNK = 16;

/** Runs `visit(from, to)` over [0, total) in chunks of `chunk` images. */
async function forChunks(total: number, chunk: number, visit: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < total; i += chunk) await visit(i, Math.min(total, i + chunk));
}

/** The images `make(from, to)` produces (in chunks), read back and concatenated. */
export async function imagesOf(make: (from: number, to: number) => Tensor, total: number, chunk = EMBED_CHUNK): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  await forChunks(total, chunk, async (from, to) => {
    const t = make(from, to);
    parts.push((await t.data()) as Float32Array);
    t.dispose();
  });
  return concatArrays(parts);
}

/** Features [total, D] (row-major) of the images in [−1, 1] that `make(from, to)` produces, `chunk` at a time. */
export async function embedAll(net: FeatureNetwork, make: (from: number, to: number) => Tensor, total: number, chunk = EMBED_CHUNK): Promise<{ data: Float32Array; dim: number }> {
  let dim = 0;
  const data = await imagesOf(
    (from, to) => {
      const f = tidy(() => noGrad(() => net.embed(to01(make(from, to)))));
      dim = f.shape[1];
      return f;
    },
    total,
    chunk,
  );
  return { data, dim };
}

function concatArrays(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** [−1, 1] → [0, 1], the range the feature networks expect. */
function to01(images: Tensor): Tensor {
  return add(mul(images, 0.5), 0.5);
}

/** The UNet encoder's pooled bottleneck [N, widths[4]] (256 for the published UNet) of images [N, 1, H, W] in [0, 1], resized to `size`². */
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

/** FD between the Gaussians fitted to two feature sets, and KID (unbiased cubic-kernel MMD², `kidOptions`: subsets). */
export function fdAndKidWith(kidOptions: KidOptions = {}): SetDistance {
  return (real, fake, dim) => {
    const rows = (a: Float32Array) => Array.from({ length: a.length / dim }, (_, i) => a.subarray(i * dim, (i + 1) * dim));
    const [r, f] = [rows(real), rows(fake)];
    const [sr, sf] = [featureStats(r), featureStats(f)];
    return { fd: frechetDistance(sr.mu, sr.sigma, sf.mu, sf.sigma), kid: kid(f, r, kidOptions) };
  };
}

/** FD and KID with the published KID protocol (100 subsets of up to 1000). */
export const fdAndKid: SetDistance = fdAndKidWith();

/** DINOv2 when weights are given, else the UNet encoder when a checkpoint is given, else null. */
export function ganFeatureNetwork(opts: { dinov2?: string; unet?: string; unetSize?: number }): { features: FeatureNetwork; distance: SetDistance; dispose(): void } | null {
  const net = opts.dinov2 ? new Dinov2Features(opts.dinov2) : opts.unet ? new UNetEncoderFeatures(opts.unet, opts.unetSize) : null;
  return net ? { features: net, distance: fdAndKid, dispose: () => net.dispose() } : null;
}
