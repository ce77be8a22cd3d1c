// Segmentation losses of the supervised baseline (SSL4MIS / BCP): Dice on softmax probabilities,
// per class pooled over the batch, squared terms in the denominator, background included, smooth 1e-5;
// and the supervised objective 0.5·(CE + Dice).
import { add, div, mean, mul, oneHot, rsub, ShapeError, softCrossEntropy, softmax, sum, type Tensor } from '../engine/index.js';

const SMOOTH = 1e-5;

/** 1 − mean_c (2·Σ p·t + s) / (Σ p² + Σ t² + s), sums over batch and pixels. */
export function diceLoss(probs: Tensor, target: Tensor): Tensor {
  if (probs.rank !== 4 || probs.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError('diceLoss', 'probabilities and one-hot target must both be [B, C, H, W]', [probs.shape, target.shape]);
  }
  const axes = [0, 2, 3];
  const inter = sum(mul(probs, target), axes);
  const z = sum(mul(probs, probs), axes);
  const y = sum(mul(target, target), axes);
  const ratio = div(add(mul(inter, 2), SMOOTH), add(add(z, y), SMOOTH));
  return rsub(1, mean(ratio));
}

/** The supervised loss of the published baseline: 0.5·(cross-entropy + Dice) from logits and labels. */
export function supervisedSegLoss(logits: Tensor, labels: Tensor): Tensor {
  const classes = logits.shape[1];
  const target = oneHot(labels, classes, 1);
  const ce = softCrossEntropy(logits, target, 1);
  const dice = diceLoss(softmax(logits, 1), target);
  return mul(add(ce, dice), 0.5);
}
