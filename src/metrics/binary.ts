// Overlap and surface metrics of one binary mask pair, with medpy's definitions (medpy.metric.binary),
// which every ACDC table in BCP / SRA-Seg is computed with:
//   dice    = 2|P∩G| / (|P| + |G|)                 medpy dc
//   jaccard = |P∩G| / |P∪G|                         medpy jc
//   hd95    = 95th percentile (numpy 'linear') of the pooled distances P-surface→G-surface and
//             G-surface→P-surface                    medpy hd95
//   asd     = mean distance P-surface→G-surface: ONE direction, prediction to ground truth. This is
//             medpy's asd(pred, gt), the call BCP's test_ACDC makes. (SRA-SEG-NOTES.md calls ASD "the
//             mean of the two directed averages"; that is medpy's assd, given separately below.)
//   assd    = (asd(P, G) + asd(G, P)) / 2            medpy assd
//   hd      = max of both directed sets             medpy hd
// Surfaces and distances: see surface.ts (one cross-shaped erosion, border as background, exact EDT).
// Distances are in voxel units unless the grid carries a spacing (the published evaluation uses none).
import { checkGrid, type Grid } from './edt.js';
import { surfaceDistances } from './surface.js';
import { max, mean, percentile } from './stats.js';

/**
 * Scores of one mask pair where they are defined, null where they are not: Dice/Jaccard when both
 * masks are empty, every surface distance when either is empty. Nothing is made up here; the
 * conventions that fill the gaps live in conventions.ts.
 */
export interface BinaryScores {
  dice: number | null;
  jaccard: number | null;
  hd95: number | null;
  asd: number | null;
  assd: number | null;
  hd: number | null;
  predVoxels: number;
  gtVoxels: number;
}

export interface OverlapCounts {
  pred: number;
  gt: number;
  both: number;
}

export function overlapCounts(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>): OverlapCounts {
  if (pred.length !== gt.length) throw new Error(`overlapCounts: prediction has ${pred.length} voxels, ground truth ${gt.length}`);
  let p = 0;
  let g = 0;
  let both = 0;
  for (let i = 0; i < pred.length; i++) {
    const inPred = !!pred[i];
    const inGt = !!gt[i];
    p += +inPred;
    g += +inGt;
    both += +(inPred && inGt);
  }
  return { pred: p, gt: g, both };
}

/** 2|P∩G| / (|P| + |G|); null when both masks are empty. */
export function dice(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>): number | null {
  const c = overlapCounts(pred, gt);
  return diceFromCounts(c);
}

/** |P∩G| / |P∪G|; null when both masks are empty. */
export function jaccard(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>): number | null {
  return jaccardFromCounts(overlapCounts(pred, gt));
}

function diceFromCounts(c: OverlapCounts): number | null {
  return c.pred + c.gt === 0 ? null : (2 * c.both) / (c.pred + c.gt);
}

function jaccardFromCounts(c: OverlapCounts): number | null {
  const union = c.pred + c.gt - c.both;
  return union === 0 ? null : c.both / union;
}

/** medpy hd95(pred, gt); throws when either mask is empty (as medpy does). */
export function hd95(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>, grid: Grid): number {
  const d = surfaceDistances(pred, gt, grid);
  return pooledPercentile95(d.predToGt, d.gtToPred);
}

/** medpy asd(pred, gt): mean distance from the prediction's surface to the ground truth's. */
export function asd(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>, grid: Grid): number {
  return mean(surfaceDistances(pred, gt, grid).predToGt);
}

/** medpy assd(pred, gt): the mean of the two directed average surface distances. */
export function assd(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>, grid: Grid): number {
  const d = surfaceDistances(pred, gt, grid);
  return (mean(d.predToGt) + mean(d.gtToPred)) / 2;
}

/** Every metric of one mask pair, computing the surfaces and distance transforms once. */
export function scoreBinary(pred: ArrayLike<number | boolean>, gt: ArrayLike<number | boolean>, grid: Grid): BinaryScores {
  checkGrid('scoreBinary', grid, pred, gt);
  const c = overlapCounts(pred, gt);
  const scores: BinaryScores = {
    dice: diceFromCounts(c),
    jaccard: jaccardFromCounts(c),
    hd95: null,
    asd: null,
    assd: null,
    hd: null,
    predVoxels: c.pred,
    gtVoxels: c.gt,
  };
  if (c.pred > 0 && c.gt > 0) {
    const d = surfaceDistances(pred, gt, grid);
    scores.hd95 = pooledPercentile95(d.predToGt, d.gtToPred);
    scores.asd = mean(d.predToGt);
    scores.assd = (scores.asd + mean(d.gtToPred)) / 2;
    scores.hd = Math.max(max(d.predToGt), max(d.gtToPred));
  }
  return scores;
}

function pooledPercentile95(a: Float64Array, b: Float64Array): number {
  const pooled = new Float64Array(a.length + b.length);
  pooled.set(a);
  pooled.set(b, a.length);
  return percentile(pooled, 95);
}
