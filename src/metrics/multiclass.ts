// Per-class evaluation of label maps (classes 1..C−1, background 0 left out) and the aggregation of
// BCP's test_ACDC: mean over volumes for each class, then mean over the classes, under both
// conventions of conventions.ts, with counts of empty predictions and undefined distances.
import { checkGrid, gridSize, type Grid } from './edt.js';
import { scoreBinary, type BinaryScores } from './binary.js';
import { applyConvention, type Convention, type ConventionScores } from './conventions.js';
import { meanDefined } from './stats.js';

/** Scores of classes 1..numClasses−1 of one label volume: element c−1 belongs to class c. */
export function scoreLabelVolume(pred: ArrayLike<number>, gt: ArrayLike<number>, grid: Grid, numClasses: number): BinaryScores[] {
  checkGrid('scoreLabelVolume', grid, pred, gt);
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new Error(`scoreLabelVolume: numClasses = ${numClasses}, need an integer ≥ 2`);
  const scores: BinaryScores[] = [];
  for (let c = 1; c < numClasses; c++) {
    scores.push(scoreBinary(classMask(pred, c), classMask(gt, c), grid));
  }
  return scores;
}

/**
 * 2D variant: each image of a stack [N, H, W] (or [N, 1, H, W]) scored on its own, as done for
 * validation per slice and for the fundus images. Returns [image][class − 1].
 */
export function scorePerImage(
  pred: ArrayLike<number>,
  gt: ArrayLike<number>,
  shape: readonly number[],
  numClasses: number,
  spacing?: readonly [number, number],
): BinaryScores[][] {
  if (!(shape.length === 3 || (shape.length === 4 && shape[1] === 1))) {
    throw new Error(`scorePerImage: shape [${shape.join(', ')}] is neither [N, H, W] nor [N, 1, H, W]`);
  }
  checkGrid('scorePerImage', { shape }, pred, gt);
  const imageGrid: Grid = { shape: shape.slice(-2), spacing };
  const size = gridSize(imageGrid.shape);
  const out: BinaryScores[][] = [];
  for (let i = 0; i < shape[0]; i++) {
    const slice = (a: ArrayLike<number>) => Array.prototype.slice.call(a, i * size, (i + 1) * size) as number[];
    out.push(scoreLabelVolume(slice(pred), slice(gt), imageGrid, numClasses));
  }
  return out;
}

function classMask(labels: ArrayLike<number>, c: number): Uint8Array {
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) mask[i] = +(labels[i] === c);
  return mask;
}

/** Means of one metric set; null where no volume had the value defined. */
export type MeanScores = ConventionScores;

export interface ClassSummary {
  name: string;
  literature: MeanScores;
  honest: MeanScores;
  volumes: number;
  /** Volumes where the prediction has no voxel of this class (scored 0,0,0,0 by the literature). */
  emptyPredictions: number;
  /** Volumes whose surface distances are undefined (prediction or ground truth empty). */
  undefinedDistances: number;
}

export interface EvaluationSummary {
  classes: ClassSummary[];
  /** Mean over classes of the per-class means (the number the tables report). */
  literature: MeanScores;
  honest: MeanScores;
  volumes: number;
  emptyPredictions: number;
  undefinedDistances: number;
}

const METRICS = ['dice', 'jaccard', 'hd95', 'asd', 'assd'] as const;

/** Aggregate scores indexed [volume][class − 1]; classNames defaults to 'class 1', 'class 2', … */
export function summarize(perVolume: readonly (readonly BinaryScores[])[], classNames?: readonly string[]): EvaluationSummary {
  if (perVolume.length === 0) throw new Error('summarize: no volumes');
  const numClasses = perVolume[0].length;
  if (perVolume.some((v) => v.length !== numClasses)) throw new Error('summarize: volumes have different numbers of classes');
  const classes: ClassSummary[] = [];
  for (let k = 0; k < numClasses; k++) {
    const scores = perVolume.map((v) => v[k]);
    classes.push({
      name: classNames?.[k] ?? `class ${k + 1}`,
      literature: meanScores(scores.map((s) => applyConvention(s, 'literature'))),
      honest: meanScores(scores.map((s) => applyConvention(s, 'honest'))),
      volumes: scores.length,
      emptyPredictions: scores.filter((s) => s.predVoxels === 0).length,
      undefinedDistances: scores.filter((s) => s.hd95 === null).length,
    });
  }
  const across = (convention: Convention) => meanScores(classes.map((c) => c[convention]));
  return {
    classes,
    literature: across('literature'),
    honest: across('honest'),
    volumes: perVolume.length,
    emptyPredictions: classes.reduce((a, c) => a + c.emptyPredictions, 0),
    undefinedDistances: classes.reduce((a, c) => a + c.undefinedDistances, 0),
  };
}

function meanScores(rows: readonly ConventionScores[]): MeanScores {
  const out = {} as MeanScores;
  for (const m of METRICS) out[m] = meanDefined(rows.map((r) => r[m])).mean;
  return out;
}
