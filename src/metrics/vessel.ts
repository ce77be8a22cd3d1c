// Pixel-classification metrics of the retinal-vessel literature (DRIVE/CHASE/STARE tables):
// sensitivity, specificity, accuracy, F1 from a thresholded probability map, and ROC AUC from the
// probabilities themselves. An optional field-of-view mask restricts every count to the pixels inside
// the camera's circular aperture, as those benchmarks do.

export interface ConfusionCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

function checkLengths(op: string, a: ArrayLike<unknown>, b: ArrayLike<unknown>, fov?: ArrayLike<unknown>): void {
  if (a.length !== b.length || (fov && fov.length !== a.length)) {
    throw new Error(`${op}: lengths differ (${a.length}, ${b.length}${fov ? `, field of view ${fov.length}` : ''})`);
  }
}

/** Counts with prediction = probability ≥ threshold (0.5 by default; a 0/1 mask works as is). */
export function confusionCounts(
  probability: ArrayLike<number>,
  truth: ArrayLike<number | boolean>,
  options: { threshold?: number; fov?: ArrayLike<number | boolean> } = {},
): ConfusionCounts {
  const { threshold = 0.5, fov } = options;
  checkLengths('confusionCounts', probability, truth, fov);
  const c: ConfusionCounts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < probability.length; i++) {
    if (fov && !fov[i]) continue;
    const positive = probability[i] >= threshold;
    if (truth[i]) positive ? c.tp++ : c.fn++;
    else positive ? c.fp++ : c.tn++;
  }
  return c;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

export interface PixelScores {
  /** TP / (TP + FN), null without positive pixels. */
  sensitivity: number | null;
  /** TN / (TN + FP), null without negative pixels. */
  specificity: number | null;
  accuracy: number | null;
  f1: number | null;
  /** ROC AUC of the probabilities; null when one of the two classes is absent. */
  auc: number | null;
}

export function pixelScores(
  probability: ArrayLike<number>,
  truth: ArrayLike<number | boolean>,
  options: { threshold?: number; fov?: ArrayLike<number | boolean> } = {},
): PixelScores {
  const c = confusionCounts(probability, truth, options);
  return {
    sensitivity: ratio(c.tp, c.tp + c.fn),
    specificity: ratio(c.tn, c.tn + c.fp),
    accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    auc: rocAuc(probability, truth, options.fov),
  };
}

/**
 * Exact area under the ROC curve: the probability that a random positive pixel scores higher than a
 * random negative one, ties counting one half (= the trapezoidal area of the full ROC curve). Computed
 * by sorting once and summing mid-ranks (Mann–Whitney U), O(n log n). Null when a class is absent.
 */
export function rocAuc(score: ArrayLike<number>, truth: ArrayLike<number | boolean>, fov?: ArrayLike<number | boolean>): number | null {
  checkLengths('rocAuc', score, truth, fov);
  const idx: number[] = [];
  for (let i = 0; i < score.length; i++) {
    if (fov && !fov[i]) continue;
    if (Number.isNaN(score[i])) throw new Error(`rocAuc: score ${i} is NaN`);
    idx.push(i);
  }
  const order = Uint32Array.from(idx).sort((a, b) => score[a] - score[b]);
  let positives = 0;
  let rankSumOfPositives = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end < order.length && score[order[end]] === score[order[start]]) end++;
    const midRank = (start + 1 + end) / 2; // ranks start..end−1 are tied: each gets their mean (1-based)
    for (let j = start; j < end; j++) {
      if (truth[order[j]]) {
        positives++;
        rankSumOfPositives += midRank;
      }
    }
    start = end;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const u = rankSumOfPositives - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}
