// The shape every segmentation data source offers the trainer (real ACDC, the procedural phantom):
// a list of 2D training slices split into a labeled subset and an unlabeled pool, and a list of 3D
// validation volumes. Samples are plain CPU arrays in row-major [H, W] / [D, H, W] order.

import { DataError } from '../errors.js';

export { DataError };

/** One 2D slice: image in [0, 1] (float32), label = class index per pixel (uint8). */
export interface SliceSample {
  name: string;
  height: number;
  width: number;
  image: Float32Array;
  label: Uint8Array;
}

/** One 3D volume, [depth, height, width] row-major. */
export interface VolumeSample {
  name: string;
  depth: number;
  height: number;
  width: number;
  image: Float32Array;
  label: Uint8Array;
  /** Voxel spacing (z, y, x) in mm when the source records it (NIfTI does; SSL4MIS's HDF5 does not). */
  spacing?: [number, number, number];
}

export interface SegDataset {
  /** Classes including background (4 for ACDC: background, RV, myocardium, LV). */
  readonly numClasses: number;
  /** Names of the classes, background first, for reports (ACDC's cardiac names when absent and numClasses is 4). */
  readonly classNames?: readonly string[];
  /** Names of all training slices, in the standard order. */
  readonly trainSlices: readonly string[];
  /** Indices into trainSlices whose labels the semi-supervised trainer may use. */
  readonly labeledIndices: readonly number[];
  /** Indices into trainSlices treated as unlabeled (their labels must not be used for training). */
  readonly unlabeledIndices: readonly number[];
  /** Names of the validation volumes. */
  readonly valVolumes: readonly string[];
  getSlice(index: number): SliceSample;
  getVolume(name: string): VolumeSample;
  /** One human-readable line: source, sizes, split. */
  describe(): string;
  /**
   * Opens every file the set will read (headers, not pixels) and throws the first problem as a
   * DataError naming the file: what a command runs before creating a run folder or training, so a
   * truncated validation file is found at start, not hours later. Absent where nothing is read (phantom).
   */
  preflight?(): void;
}

/** Checks an image/label pair before it enters the pipeline. */
export function validatePair(
  file: string,
  shape: readonly number[],
  image: Float32Array,
  label: Uint8Array,
  numClasses: number,
): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (image.length !== n || label.length !== n) {
    throw new DataError(file, `image has ${image.length} values and label ${label.length}, shape [${shape}] needs ${n}`, 'Regenerate the file so image and label have the same shape');
  }
  let maxLabel = 0;
  for (let i = 0; i < n; i++) if (label[i] > maxLabel) maxLabel = label[i];
  if (maxLabel >= numClasses) {
    throw new DataError(file, `label value ${maxLabel} is out of range 0..${numClasses - 1}`, 'Check that the label map uses class indices (0 background, 1 RV, 2 myocardium, 3 LV for ACDC)');
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(image[i])) throw new DataError(file, `image value at flat index ${i} is ${image[i]}`, 'Replace the file with a finite, normalised image');
  }
}
