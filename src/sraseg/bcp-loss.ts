// BCP's loss on a copy-paste mixed batch (the `--method bcp` objective), composed from general ops.
// The mixed image shows image A where the mask M is 1 and patch B (the box) where it is 0; each region
// is scored against its own hard labels with its own weight (ground truth 1, pseudo-labels 0.5):
//   Dice = w_A·dice(p, A, M) + w_B·dice(p, B, 1 − M), with BCP's masked Dice per class pooled over
//          the batch, squared terms in the denominator, background included, mean over classes;
//   CE   = w_A·Σ M·CE / Σ M + w_B·Σ (1 − M)·CE / Σ (1 − M)   (per-pixel CE averaged over each region).
// The published step sums Dice and CE over its two mixed batches and halves the total.
import { add, div, expand, logSoftmax, mean, mul, neg, oneHot, rsub, ShapeError, softmax, sum, type Tensor } from '../engine/index.js';

export interface BcpMixLossOptions {
  /** Weight of the region where M = 1 (image A); default 1. */
  imageWeight?: number;
  /** Weight of the box where M = 0 (patch B); default 0.5 (pseudo-labelled, as BCP's u_weight). */
  patchWeight?: number;
  /** Dice smoothing added to numerator and denominator (default 1e−10, BCP's masked Dice). */
  smooth?: number;
}

export interface BcpMixLoss {
  dice: Tensor;
  ce: Tensor;
}

/** 1 − mean_c (2·Σ p·t·m + s) / (Σ p²·m + Σ t²·m + s), sums over batch and pixels. */
function maskedDice(probs: Tensor, target: Tensor, m: Tensor, smooth: number): Tensor {
  const axes = [0, 2, 3];
  const inter = sum(mul(mul(probs, target), m), axes);
  const z = sum(mul(mul(probs, probs), m), axes);
  const y = sum(mul(mul(target, target), m), axes);
  return rsub(1, mean(div(add(mul(inter, 2), smooth), add(add(z, y), smooth))));
}

/** Per-pixel cross-entropy averaged over the region weighted by m (1e−16 guards an empty region). */
function regionCrossEntropy(logProbs: Tensor, target: Tensor, m: Tensor): Tensor {
  const perPixel = neg(sum(mul(target, logProbs), 1, true)); // [B, 1, H, W]
  const area = sum(expand(m, perPixel.shape));
  return div(sum(mul(perPixel, m)), add(area, 1e-16));
}

/**
 * BCP's Dice and CE for logits [B, C, H, W] of a mixed batch: `imageLabels` (i32 [B, H, W]) hold where
 * `mask` (f32 [1 or B, 1, H, W], the hard M) is 1, `patchLabels` inside the box.
 */
export function bcpMixLoss(logits: Tensor, imageLabels: Tensor, patchLabels: Tensor, mask: Tensor, options: BcpMixLossOptions = {}): BcpMixLoss {
  const [B, C, H, W] = logits.shape;
  const labelsOk = (l: Tensor) => l.rank === 3 && l.shape[0] === B && l.shape[1] === H && l.shape[2] === W;
  const maskOk = mask.rank === 4 && (mask.shape[0] === 1 || mask.shape[0] === B) && mask.shape[1] === 1 && mask.shape[2] === H && mask.shape[3] === W;
  if (logits.rank !== 4 || !labelsOk(imageLabels) || !labelsOk(patchLabels) || !maskOk) {
    throw new ShapeError('bcpMixLoss', `expects logits [B, C, H, W], labels [B, H, W] and mask [1 or B, 1, H, W]`, [logits.shape, imageLabels.shape, patchLabels.shape, mask.shape]);
  }
  const wImage = options.imageWeight ?? 1;
  const wPatch = options.patchWeight ?? 0.5;
  const smooth = options.smooth ?? 1e-10;
  const probs = softmax(logits, 1);
  const logProbs = logSoftmax(logits, 1);
  const tImage = oneHot(imageLabels, C, 1);
  const tPatch = oneHot(patchLabels, C, 1);
  const inBox = rsub(1, mask);
  const dice = add(mul(maskedDice(probs, tImage, mask, smooth), wImage), mul(maskedDice(probs, tPatch, inBox, smooth), wPatch));
  const ce = add(mul(regionCrossEntropy(logProbs, tImage, mask), wImage), mul(regionCrossEntropy(logProbs, tPatch, inBox), wPatch));
  return { dice, ce };
}
