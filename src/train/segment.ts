// `segment`: a trained UNet on the user's own files — NIfTI volumes, HDF5 files in the ACDC layout,
// PNG/TIFF images, or a folder of them. Each prediction is written the way its input came
// (save-predictions.ts) with an image | prediction overlay beside it.
//
// Inference follows the evaluation: BCP's protocol for volumes and slices (each slice zoomed to the
// network's size with nearest, argmax, zoomed back: predictVolume in evaluate.ts), or, with
// resample 'area', the fundus protocol (area/bilinear resize in, vessel probability bilinear back,
// ≥ 0.5: evaluate-fundus.ts), which is what a checkpoint trained by train-fundus.js saw. Intensities
// as in training: NIfTI min-max normalised per volume (ACDC's preprocessing), HDF5 `image` as
// stored (the ACDC files are normalised already), images one channel / 255.
//
// Everything that can be checked before the network runs is checked in findSegmentInputs and
// planSegmentOutputs, which throw DataErrors (one line: the file, the problem, the fix).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { VolumeSample } from '../data/dataset.js';
import { DataError } from '../errors.js';
import { intensity, readImageFile, type InputChannel } from '../data/image-decode.js';
import { resizeFiltered } from '../data/resample.js';
import { ensureHdf5Ready, readHdf5Datasets } from '../io/hdf5.js';
import { minMaxNormalise, readNifti, readNiftiHeader } from '../io/nifti.js';
import type { UNet } from '../models/unet.js';
import { keepLargestComponentsBatch } from '../sraseg/components.js';
import { predictVolume } from './evaluate.js';
import { predictVesselProbability, vesselMask } from './evaluate-fundus.js';
import { writePredictionOverlay } from './overlays.js';
import { savePrediction, type PredictionTarget } from './save-predictions.js';

export type SegmentFormat = 'nifti' | 'hdf5' | 'image';

export interface SegmentInput {
  path: string;
  /** The file name without its extension: outputs are `<name>.<ext>` and `<name>_overlay.png`. */
  name: string;
  format: SegmentFormat;
  /** Slices the network will see (1 for a 2D image or slice). */
  slices: number;
}

export interface SegmentOptions {
  /** Network input size (each slice is resized to size×size). */
  size: number;
  /** 'nearest': BCP's protocol (default); 'area': the fundus protocol (2-class checkpoints). */
  resample?: 'nearest' | 'area';
  /** Keep the largest 8-connected component of each foreground class, per slice (BCP's pseudo-label filter). */
  largestComponent?: boolean;
  /** Colour images: the channel the network sees (green, or gray = luma). */
  channel?: InputChannel;
  /** Write an overlay PNG per input (default true). */
  overlay?: boolean;
}

const FORMATS: [RegExp, SegmentFormat][] = [
  [/\.nii(\.gz)?$/i, 'nifti'],
  [/\.(h5|hdf5)$/i, 'hdf5'],
  [/\.(png|tiff?)$/i, 'image'],
];

const formatOf = (path: string) => FORMATS.find(([re]) => re.test(path));

/**
 * The files to segment: `input` itself, or the recognised files directly inside a folder (others are
 * returned as `skipped`). Every file is opened and checked (format, dimensions, an `image` dataset).
 */
export async function findSegmentInputs(input: string): Promise<{ inputs: SegmentInput[]; skipped: string[] }> {
  if (!existsSync(input)) throw new DataError(input, 'not found', 'Give a .nii/.nii.gz, .h5, .png/.tif file or a folder of them');
  let files: string[];
  const skipped: string[] = [];
  if (statSync(input).isDirectory()) {
    const entries = readdirSync(input).sort().map((f) => join(input, f)).filter((f) => statSync(f).isFile());
    files = entries.filter((f) => formatOf(f));
    skipped.push(...entries.filter((f) => !formatOf(f)));
    if (!files.length) throw new DataError(input, 'holds no .nii, .nii.gz, .h5, .hdf5, .png, .tif or .tiff files', 'Point --input at a folder of volumes or images');
  } else {
    if (!formatOf(input)) throw new DataError(input, 'unrecognised format (by its name)', 'Give a .nii/.nii.gz volume, an .h5 file in the ACDC layout, or a .png/.tif image');
    files = [input];
  }
  if (files.some((f) => formatOf(f)![1] === 'hdf5')) await ensureHdf5Ready();
  return { inputs: files.map(inspect), skipped };
}

function inspect(path: string): SegmentInput {
  const [re, format] = formatOf(path)!;
  const name = basename(path).replace(re, '');
  if (format === 'nifti') return { path, name, format, slices: readNiftiHeader(path).shape[0] };
  if (format === 'hdf5') return { path, name, format, slices: hdf5Image(path).depth };
  readImageFile(path); // decodes once: a damaged or mislabelled file fails here, before any work
  return { path, name, format, slices: 1 };
}

/** The `image` dataset of an ACDC-layout file: [D, H, W] or one [H, W] slice. */
function hdf5Image(path: string) {
  const { image } = readHdf5Datasets(path, ['image']);
  if (image.shape.length !== 2 && image.shape.length !== 3) {
    throw new DataError(path, `dataset 'image' has shape [${image.shape}]`, "Store 'image' as [D, H, W] or [H, W] (the ACDC layout)");
  }
  const [depth, height, width] = image.shape.length === 3 ? image.shape : [1, ...image.shape];
  return { raw: image, depth, height, width };
}

/** Output paths per input; refuses names that collide and outputs that would overwrite an input. */
export function planSegmentOutputs(inputs: readonly SegmentInput[], out: string): { prediction: string; overlay: string }[] {
  const plans = inputs.map((i) => ({
    prediction: join(out, i.name + (i.format === 'image' ? '.png' : extensionOf(i.path))),
    overlay: join(out, `${i.name}_overlay.png`),
  }));
  const owner = new Map<string, string>();
  const sources = new Set(inputs.map((i) => resolve(i.path)));
  plans.forEach((p, k) => {
    for (const file of [p.prediction, p.overlay]) {
      const abs = resolve(file);
      if (sources.has(abs)) throw new DataError(inputs[k].path, `its output ${file} would overwrite an input`, 'Choose an --out folder other than the input folder');
      const other = owner.get(abs);
      if (other) throw new DataError(inputs[k].path, `writes ${file}, as ${other} does`, 'Segment files with the same name from separate folders');
      owner.set(abs, inputs[k].path);
    }
  });
  return plans;
}

function extensionOf(path: string): string {
  return (/\.nii\.gz$/i.exec(path) ?? /\.[^.]+$/.exec(path))![0].toLowerCase();
}

/** The network's view of one input (intensities in [0, 1], [D, H, W]) and how to write its prediction. */
export function loadSegmentInput(input: SegmentInput, channel: InputChannel = 'green'): { volume: Pick<VolumeSample, 'image' | 'depth' | 'height' | 'width'>; target: PredictionTarget } {
  if (input.format === 'nifti') {
    const v = readNifti(input.path);
    const [depth, height, width] = v.shape;
    return { volume: { image: minMaxNormalise(v.data), depth, height, width }, target: { format: 'nifti', header: v.header, extension: extensionOf(input.path) as '.nii' | '.nii.gz' } };
  }
  if (input.format === 'hdf5') {
    const { raw, depth, height, width } = hdf5Image(input.path);
    const image = raw.data instanceof Float32Array ? raw.data : Float32Array.from(raw.data as ArrayLike<number>);
    return { volume: { image, depth, height, width }, target: { format: 'hdf5', image: { shape: raw.shape, data: raw.data }, extension: extensionOf(input.path) as '.h5' | '.hdf5' } };
  }
  const img = readImageFile(input.path);
  return { volume: { image: intensity(img, channel), depth: 1, height: img.height, width: img.width }, target: { format: 'png', width: img.width, height: img.height } };
}

/** Label volume [D, H, W] for one input volume, post-processed as asked. */
export async function segmentVolume(
  model: UNet,
  volume: Pick<VolumeSample, 'image' | 'depth' | 'height' | 'width'>,
  options: SegmentOptions,
  onSlices?: (n: number) => void,
): Promise<Uint8Array> {
  const { depth, height, width } = volume;
  const plane = height * width;
  let pred: Uint8Array;
  if ((options.resample ?? 'nearest') === 'nearest') pred = await predictVolume(model, volume, options.size, onSlices);
  else {
    const size = options.size;
    const view = { size, networkInput: (v: { image: Float32Array; height: number; width: number }) => resizeFiltered(v.image, v.height, v.width, size, size) };
    pred = new Uint8Array(depth * plane);
    for (let z = 0; z < depth; z++) {
      const probability = await predictVesselProbability(model, view, { image: volume.image.subarray(z * plane, (z + 1) * plane), height, width });
      pred.set(vesselMask(probability, null), z * plane);
      onSlices?.(1);
    }
  }
  if (options.largestComponent) pred = Uint8Array.from(keepLargestComponentsBatch(Int32Array.from(pred), depth, height, width));
  return pred;
}

export interface SegmentResult {
  input: string;
  prediction: string;
  overlay: string | null;
  /** Voxels per class. */
  counts: number[];
}

/**
 * Segments every input and writes its prediction (and overlay) into `out`. `onSlices(n, input)`
 * reports progress in slices; `numClasses` comes from the model.
 */
export async function segmentFiles(
  model: UNet,
  inputs: readonly SegmentInput[],
  out: string,
  options: SegmentOptions,
  onSlices?: (n: number, input: SegmentInput) => void,
): Promise<SegmentResult[]> {
  const plans = planSegmentOutputs(inputs, out);
  const numClasses = model.config.numClasses;
  if (options.resample === 'area' && numClasses !== 2) {
    throw new Error(`segment: resample 'area' is the vessel protocol (2 classes); this model has ${numClasses}`);
  }
  if (inputs.some((i) => i.format === 'hdf5')) await ensureHdf5Ready();
  const results: SegmentResult[] = [];
  for (const [k, input] of inputs.entries()) {
    const { volume, target } = loadSegmentInput(input, options.channel);
    const labels = await segmentVolume(model, volume, options, (n) => onSlices?.(n, input));
    const prediction = savePrediction(out, input.name, target, labels, numClasses);
    const overlay = options.overlay === false ? null : writePredictionOverlay(out, input.name, volume, labels, numClasses);
    if (prediction !== plans[k].prediction) throw new Error(`segment: wrote ${prediction}, planned ${plans[k].prediction}`);
    const counts = new Array<number>(numClasses).fill(0);
    for (const v of labels) counts[v]++;
    results.push({ input: input.path, prediction, overlay, counts });
  }
  return results;
}
