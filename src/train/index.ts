export { trainSupervised, type SupervisedConfig, type OptimConfig } from './supervised.js';
export { evaluateVolumes, predictVolume, ACDC_CLASSES, type VolumeEvaluation, type VolumeResult } from './evaluate.js';
export { prepareBatch, type HostBatch } from './batch.js';
export { plotCurves } from './curves.js';
export { busiestSlice, sliceDice, writeSliceOverlay } from './overlays.js';
export { trainSemiSupervised, type SemiConfig, type SemiMethod } from './semi.js';
export { runStage, type StageConfig, type StageMethod, type StageResult } from './stage.js';
export { correctPixelFeatures, gaussianKde, writeDomainGapPlot } from './domain-gap.js';
