// A prediction written the way its input came: NIfTI on the input's own header (affine, spacing and
// the other fields kept, uint8 labels: it overlays the input in ITK-SNAP / 3D Slicer), HDF5 in the
// ACDC layout (`image` copied, the prediction as `label`), an indexed PNG for 2D images (pixel value
// = class). Used by bench/segment.js and by --save-predictions in the evaluation CLIs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeHdf5Datasets, type Hdf5Dataset } from '../io/hdf5.js';
import { readNiftiHeader, type NiftiHeaderBytes } from '../io/nifti.js';
import { writeNiftiLabels } from '../io/nifti-write.js';
import { writeFileAtomic } from '../engine/index.js';
import { labelFilePalette } from '../report/overlay.js';
import { encodeIndexedPng } from '../report/png.js';

/** Where a prediction goes and what it needs from its input to be written like it. */
export type PredictionTarget =
  | { format: 'nifti'; header: NiftiHeaderBytes; extension: '.nii' | '.nii.gz' }
  | { format: 'hdf5'; image: Hdf5Dataset; extension: '.h5' | '.hdf5' }
  | { format: 'png'; width: number; height: number };

/** The target for a prediction on the grid of a .nii/.nii.gz file (reads its header). */
export function niftiTarget(path: string): PredictionTarget {
  return { format: 'nifti', header: readNiftiHeader(path).header, extension: /\.gz$/i.test(path) ? '.nii.gz' : '.nii' };
}

export function predictionFileName(name: string, target: PredictionTarget): string {
  return name + (target.format === 'png' ? '.png' : target.extension);
}

/** Voxels the target's grid holds: a prediction must have exactly these many labels. */
function gridSize(target: PredictionTarget): number | null {
  if (target.format === 'png') return target.width * target.height;
  if (target.format === 'hdf5') return target.image.shape.reduce((a, b) => a * b, 1);
  return null; // the NIfTI writer checks against the header's dim[] itself
}

/**
 * Writes `labels` (class indices in the input's own order: [D, H, W] / [H, W] row-major, which for
 * NIfTI is the file's x-fastest order) as `<dir>/<name><ext>`; returns the path. HDF5 needs
 * `await ensureHdf5Ready()` first; `numClasses` chooses the PNG palette.
 */
export function savePrediction(dir: string, name: string, target: PredictionTarget, labels: Uint8Array, numClasses: number): string {
  const expected = gridSize(target);
  if (expected !== null && labels.length !== expected) throw new Error(`savePrediction: ${labels.length} labels for ${name}, its grid has ${expected}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, predictionFileName(name, target));
  if (target.format === 'nifti') writeNiftiLabels(path, target.header, labels);
  else if (target.format === 'hdf5') writeHdf5Datasets(path, { image: target.image, label: { shape: target.image.shape, data: labels } });
  else writeFileAtomic(path, Buffer.from(encodeIndexedPng(target.width, target.height, labels, labelFilePalette(numClasses))));
  return path;
}
