// Evaluation metrics (CPU, float64): medpy-compatible binary 3D/2D metrics, the literature's and an
// honest convention for empty predictions, per-class aggregation, and pixel metrics for vessel data.
export { squaredDistanceTransform, type Grid } from './edt.js';
export { surfaceVoxels, surfaceDistances, type SurfaceDistances } from './surface.js';
export { percentile } from './stats.js';
export { overlapCounts, dice, jaccard, hd95, asd, assd, scoreBinary, type BinaryScores, type OverlapCounts } from './binary.js';
export { applyConvention, type Convention, type ConventionScores } from './conventions.js';
export { scoreLabelVolume, scorePerImage, summarize, type ClassSummary, type EvaluationSummary, type MeanScores } from './multiclass.js';
export { confusionCounts, pixelScores, rocAuc, type ConfusionCounts, type PixelScores } from './vessel.js';
export * from './frechet.js';
