// Pseudo-labels from the EMA teacher's logits: softmax → argmax on the GPU, one read-back, the
// largest-connected-component filter on the CPU, then labels and their one-hot encoding back on the GPU.
import { argmax, noGrad, oneHot, ShapeError, softmax, tensor, type Tensor } from '../engine/index.js';
import { keepLargestComponentsBatch } from './components.js';

export interface PseudoLabelOptions {
  /**
   * Keep only the largest 8-connected component of each foreground class per image (default true,
   * as published). On vessel data this keeps only the largest vessel tree: turn it off there.
   */
  largestComponent?: boolean;
}

export interface PseudoLabels {
  /** i32 [B, H, W] class indices. */
  labels: Tensor;
  /** f32 [B, C, H, W] one-hot encoding of `labels`. */
  oneHot: Tensor;
}

/** Hard pseudo-labels from logits [B, C, H, W]; no gradient flows (the teacher is not trained). */
export async function pseudoLabels(logits: Tensor, options: PseudoLabelOptions = {}): Promise<PseudoLabels> {
  if (logits.rank !== 4 || logits.dtype !== 'f32') {
    throw new ShapeError('pseudoLabels', `expects f32 logits [B, C, H, W], got ${logits.dtype}`, [logits.shape]);
  }
  const [B, C, H, W] = logits.shape;
  // Softmax before argmax as published: the same classes as argmax of the logits up to f32 rounding.
  const raw = noGrad(() => {
    const probs = softmax(logits, 1);
    const classes = argmax(probs, 1);
    probs.dispose();
    return classes;
  });
  if (options.largestComponent === false) return { labels: raw, oneHot: oneHot(raw, C, 1) };
  const host = (await raw.data()) as Int32Array;
  raw.dispose();
  const labels = tensor(keepLargestComponentsBatch(host, B, H, W), [B, H, W], 'i32');
  return { labels, oneHot: oneHot(labels, C, 1) };
}
