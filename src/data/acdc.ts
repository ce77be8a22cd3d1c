// The ACDC cardiac MRI set in the preprocessed layout of the semi-supervised literature (SSL4MIS,
// BCP, SRA-Seg): one HDF5 file per training slice and per validation volume, each with datasets
// `image` (float32, min-max normalised per volume) and `label` (uint8, 0 bg, 1 RV, 2 Myo, 3 LV),
// plus name lists. The labeled subset is a prefix of train_slices.list (its first patients).
// Only the lists a task needs are read: evaluation opens its volume list alone (no `labeled`), so it
// runs with just the listed volumes present. `preflight()` opens every listed file's header once, so
// a truncated or mis-shaped file is found before training starts, not at the first validation.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { ensureHdf5Ready, inspectHdf5Datasets, readHdf5Datasets, type Hdf5DatasetInfo, type HostArray } from '../io/hdf5.js';
import { DataError, validatePair, type SegDataset, type SliceSample, type VolumeSample } from './dataset.js';

export const ACDC_NUM_CLASSES = 4;
export const ACDC_CLASS_NAMES = ['background', 'RV', 'Myo', 'LV'] as const;

/** How many labeled training slices to use: a slice count or a count of whole patients. */
export type LabeledSplit = { slices: number } | { patients: number };

/** The splits of the literature: "5%" = 3 patients (68 slices), "10%" = 7 patients (136 slices). */
export const ACDC_STANDARD_SPLITS: Record<'5%' | '10%', LabeledSplit> = {
  '5%': { patients: 3 },
  '10%': { patients: 7 },
};

export interface AcdcOptions {
  /** Directory holding data/, train_slices.list and the volume lists. */
  root: string;
  /** The labeled subset of train_slices.list; absent: an evaluation set (the training list is not read). */
  labeled?: LabeledSplit;
  /** List of validation volumes, relative to root (default 'val.list'); any volume list works. */
  volumeList?: string;
  /** Keep decoded slices and volumes in memory (default true; ~360 MB for all ACDC slices). */
  cache?: boolean;
}

/** The ACDC directory: $SRASEG_ACDC, else ../shared/data/ACDC beside the repository; null if absent. */
export function findAcdcRoot(repoRoot: string = process.cwd()): string | null {
  const candidates = [process.env.SRASEG_ACDC, resolve(repoRoot, '../shared/data/ACDC')];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'train_slices.list'))) return dir;
  return null;
}

/** Reads a name list (one name per line, blank lines ignored); an empty list is an error. */
export function readNameList(path: string): string[] {
  if (!existsSync(path)) throw new DataError(path, 'list file not found', 'Point the data root at the ACDC directory (it holds train_slices.list and val.list)');
  const names = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (!names.length) throw new DataError(path, 'the list names no files', 'Write one name per line (e.g. patient001_frame01), or pass another list');
  return names;
}

/** 'patient099_frame01_slice_15' → 'patient099'. */
export function patientOf(name: string): string {
  const m = /^(patient\d+)/.exec(name);
  if (!m) throw new Error(`patientOf: '${name}' does not start with patientNNN`);
  return m[1];
}

/** Number of leading slices that form the labeled subset (whole patients counted in list order). */
export function labeledSliceCount(names: readonly string[], split: LabeledSplit): number {
  if ('slices' in split) {
    if (!Number.isInteger(split.slices) || split.slices < 0 || split.slices > names.length) {
      throw new UserError(`labeled split: ${split.slices} slices requested, the list has ${names.length}: ask for at most ${names.length}`);
    }
    return split.slices;
  }
  const wanted = split.patients;
  if (!Number.isInteger(wanted) || wanted < 0) throw new UserError(`labeled split: patients must be a non-negative integer, got ${wanted}`);
  const seen = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    const p = patientOf(names[i]);
    if (!seen.has(p)) {
      if (seen.size === wanted) return i;
      seen.add(p);
    }
  }
  if (seen.size < wanted) throw new UserError(`labeled split: ${wanted} patients requested, the list has ${seen.size}: ask for at most ${seen.size}`);
  return names.length;
}

function toFloat32(file: string, a: HostArray): Float32Array {
  if (a instanceof Float32Array) return a;
  if (a instanceof Float64Array) return Float32Array.from(a);
  throw new DataError(file, `image is an integer array (${a.constructor.name})`, 'Store the image as float32, min-max normalised to [0, 1]');
}

function toLabels(file: string, a: HostArray): Uint8Array {
  if (a instanceof Uint8Array) return a;
  if (a instanceof Float32Array || a instanceof Float64Array) {
    throw new DataError(file, `label is a float array (${a.constructor.name})`, 'Store the label as an unsigned integer class map');
  }
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] < 0 || a[i] > 255) throw new DataError(file, `label value ${a[i]} is out of range 0..${ACDC_NUM_CLASSES - 1}`, 'Check that the label map uses class indices');
    out[i] = a[i];
  }
  return out;
}

export class AcdcDataset implements SegDataset {
  readonly numClasses = ACDC_NUM_CLASSES;
  readonly labeledIndices: readonly number[];
  readonly unlabeledIndices: readonly number[];
  private readonly sliceCache = new Map<number, SliceSample>();
  private readonly volumeCache = new Map<string, VolumeSample>();

  private constructor(
    readonly root: string,
    private readonly dataDir: string,
    private readonly sliceDir: string,
    readonly trainSlices: readonly string[],
    readonly valVolumes: readonly string[],
    labeledCount: number,
    private readonly cache: boolean,
  ) {
    this.labeledIndices = Array.from({ length: labeledCount }, (_, i) => i);
    this.unlabeledIndices = Array.from({ length: trainSlices.length - labeledCount }, (_, i) => labeledCount + i);
  }

  /**
   * Opens the set: reads the lists it needs (the volume list; the training list only when `labeled`
   * is given), checks that every listed file exists, loads h5wasm. `preflight()` checks the files' contents.
   */
  static async open(opts: AcdcOptions): Promise<AcdcDataset> {
    const dataDir = join(opts.root, 'data');
    if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
      throw new DataError(dataDir, 'data directory not found', 'Point the data root at the ACDC directory (it holds data/ and the .list files)');
    }
    // SSL4MIS keeps slices in data/slices/; the copy here keeps them beside the volumes in data/.
    const sliceDir = existsSync(join(dataDir, 'slices')) ? join(dataDir, 'slices') : dataDir;
    const trainSlices = opts.labeled ? readNameList(join(opts.root, 'train_slices.list')) : [];
    const valVolumes = readNameList(join(opts.root, opts.volumeList ?? 'val.list'));
    const missing = [
      ...trainSlices.map((n) => join(sliceDir, `${n}.h5`)),
      ...valVolumes.map((n) => join(dataDir, `${n}.h5`)),
    ].filter((f) => !existsSync(f));
    if (missing.length) {
      const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ` and ${missing.length - 3} more` : '');
      throw new DataError(shown, `${missing.length} listed file(s) not found`, 'Restore the files or remove their names from the list');
    }
    const labeledCount = opts.labeled ? labeledSliceCount(trainSlices, opts.labeled) : 0;
    await ensureHdf5Ready();
    return new AcdcDataset(opts.root, dataDir, sliceDir, trainSlices, valVolumes, labeledCount, opts.cache ?? true);
  }

  /**
   * Opens every listed file once and checks its header: HDF5, datasets 'image' (float) and 'label'
   * (integer) of one shape, 2D for training slices and 3D for volumes. Reads no pixel data (~2 s for
   * the 1312 slices and 20 volumes of ACDC); throws the first problem as a DataError naming the file.
   */
  preflight(): void {
    for (const name of this.trainSlices) checkAcdcHeader(join(this.sliceDir, `${name}.h5`), 2);
    for (const name of this.valVolumes) checkAcdcHeader(join(this.dataDir, `${name}.h5`), 3);
  }

  getSlice(index: number): SliceSample {
    if (!Number.isInteger(index) || index < 0 || index >= this.trainSlices.length) {
      throw new RangeError(`AcdcDataset.getSlice: index ${index} outside 0..${this.trainSlices.length - 1}`);
    }
    const cached = this.sliceCache.get(index);
    if (cached) return cached;
    const name = this.trainSlices[index];
    const sample = readAcdcSlice(join(this.sliceDir, `${name}.h5`), name);
    if (this.cache) this.sliceCache.set(index, sample);
    return sample;
  }

  getVolume(name: string): VolumeSample {
    const cached = this.volumeCache.get(name);
    if (cached) return cached;
    const sample = readAcdcVolume(join(this.dataDir, `${name}.h5`), name);
    if (this.cache) this.volumeCache.set(name, sample);
    return sample;
  }

  describe(): string {
    const patients = (idx: readonly number[]) => new Set(idx.map((i) => patientOf(this.trainSlices[i]))).size;
    if (!this.trainSlices.length) return `ACDC at ${this.root}: ${this.valVolumes.length} volumes`;
    return (
      `ACDC at ${this.root}: ${this.trainSlices.length} training slices, ` +
      `${this.labeledIndices.length} labeled (${patients(this.labeledIndices)} patients), ` +
      `${this.unlabeledIndices.length} unlabeled (${patients(this.unlabeledIndices)} patients), ` +
      `${this.valVolumes.length} validation volumes`
    );
  }
}

/** One training slice file: `image` and `label`, both [H, W]. */
export function readAcdcSlice(file: string, name = file): SliceSample {
  const { image, label } = readHdf5Datasets(file, ['image', 'label']);
  if (image.shape.length !== 2 || String(image.shape) !== String(label.shape)) {
    throw new DataError(file, `expected image and label of the same 2D shape, got image [${image.shape}] and label [${label.shape}]`, 'Use a slice file (patientXXX_frameYY_slice_N.h5), not a volume');
  }
  const sample: SliceSample = { name, height: image.shape[0], width: image.shape[1], image: toFloat32(file, image.data), label: toLabels(file, label.data) };
  validatePair(file, image.shape, sample.image, sample.label, ACDC_NUM_CLASSES);
  return sample;
}

/** One volume file: `image` and `label`, both [D, H, W]. */
export function readAcdcVolume(file: string, name = file): VolumeSample {
  const { image, label } = readHdf5Datasets(file, ['image', 'label']);
  if (image.shape.length !== 3 || String(image.shape) !== String(label.shape)) {
    throw new DataError(file, `expected image and label of the same 3D shape [D, H, W], got image [${image.shape}] and label [${label.shape}]`, 'Use a volume file (patientXXX_frameYY.h5), not a slice');
  }
  const [depth, height, width] = image.shape;
  const sample: VolumeSample = { name, depth, height, width, image: toFloat32(file, image.data), label: toLabels(file, label.data) };
  validatePair(file, image.shape, sample.image, sample.label, ACDC_NUM_CLASSES);
  return sample;
}

/** The header check of preflight(): the datasets a slice (rank 2) or volume (rank 3) file must have. */
export function checkAcdcHeader(file: string, rank: 2 | 3): void {
  const { image, label } = inspectHdf5Datasets(file, ['image', 'label']);
  const what = rank === 2 ? 'slice file (patientXXX_frameYY_slice_N.h5)' : 'volume file (patientXXX_frameYY.h5)';
  if (image.shape.length !== rank || String(image.shape) !== String(label.shape)) {
    throw new DataError(file, `expected image and label of the same ${rank}D shape, got image [${image.shape}] and label [${label.shape}]`, `Use a ${what}`);
  }
  if (image.shape.some((n) => n < 1)) throw new DataError(file, `image of shape [${image.shape}] is empty`, 'Replace it with the original .h5 file');
  if (!isFloat(image)) throw new DataError(file, `image has dtype ${image.dtype}, not float`, 'Store the image as float32, min-max normalised to [0, 1]');
  if (!isSmallInteger(label)) throw new DataError(file, `label has dtype ${label.dtype}, not an integer class map`, 'Store the label as an unsigned integer class map');
}

// h5wasm's dtype codes: struct-module letters ('<f' float32, '<d' float64, '<B' uint8, '<i' int32 …).
const isFloat = (d: Hdf5DatasetInfo) => /[fd]$/.test(d.dtype);
const isSmallInteger = (d: Hdf5DatasetInfo) => /[bBhHiI]$/.test(d.dtype);
