// Retinal fundus vessel segmentation sets as a SegDataset: every photograph is a one-slice "volume"
// with 2 classes (background, vessel). Two folder layouts:
//   DRIVE (Staal et al. 2004): training|test/images/NN_training.tif, 1st_manual/NN_manual1.gif,
//     mask/NN_training_mask.gif (the camera's field of view, FOV);
//   FIVES (Jin et al. 2022): train|test/Original/N_X.png and train|test/Ground truth/N_X.png (no FOV).
// Split of the training part (deterministic): images in numeric order (or shuffled with `splitSeed`);
// the LAST `validation` images validate, the FIRST `labeled` ones are labeled, the rest (up to
// `unlabeled`) form the unlabeled pool. `evaluateOn: 'test'` validates on the test part instead.
// Training slices are resized to size×size: area/bilinear for the image (no aliasing of thin vessels),
// nearest for the mask. Volumes stay at native resolution: evaluation scores there, inside the FOV.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { DataError, type SegDataset, type SliceSample, type VolumeSample } from './dataset.js';
import { binaryMask, inspectImageFile, intensity, readImageFile, type InputChannel } from './image-decode.js';
import { resizeFiltered } from './resample.js';
import { SeededRng } from './rng.js';
import { zoomNearest } from './zoom.js';

export const FUNDUS_CLASS_NAMES = ['background', 'vessel'] as const;

export type FundusLayout = 'drive' | 'fives';

/** The files of one photograph. */
export interface FundusRecord {
  name: string;
  image: string;
  label: string;
  fov: string | null;
}

export interface FundusOptions {
  root: string;
  /** Labeled training images (the first ones of the split order). */
  labeled: number;
  /** Held-back training images used for validation (default 4 on DRIVE, 80 on FIVES). */
  validation?: number;
  /** Cap on the unlabeled pool (default: every remaining training image). */
  unlabeled?: number;
  /** Side of the training slices (default 256). */
  size?: number;
  channel?: InputChannel;
  /** Shuffle the training part with this seed before splitting (default: numeric order). */
  splitSeed?: number;
  /** Validate on the held-back training images (default) or on the layout's test part. */
  evaluateOn?: 'validation' | 'test';
}

/** DRIVE or FIVES from the folders present; null if neither. */
export function detectFundusLayout(root: string): FundusLayout | null {
  if (existsSync(join(root, 'training', 'images')) || existsSync(join(root, 'test', 'images'))) return 'drive';
  if (existsSync(join(root, 'train', 'Original')) || existsSync(join(root, 'test', 'Original'))) return 'fives';
  return null;
}

/** The fundus directory: $SRASEG_DRIVE, else ../shared/data/DRIVE beside the repository; null if absent. */
export function findDriveRoot(repoRoot: string = process.cwd()): string | null {
  for (const dir of [process.env.SRASEG_DRIVE, join(repoRoot, '../shared/data/DRIVE')]) if (dir && detectFundusLayout(dir) === 'drive') return dir;
  return null;
}

const numericId = (name: string) => Number(/^\d+/.exec(name)?.[0] ?? NaN);

function listDir(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) throw new DataError(dir, 'folder not found', 'Check the dataset layout (DRIVE: training/{images,1st_manual,mask}; FIVES: train/{Original,Ground truth})');
  return readdirSync(dir).filter((f) => pattern.test(f));
}

function requireFile(file: string, what: string): string {
  if (!existsSync(file)) throw new DataError(file, `${what} not found`, 'Restore the file or remove its image from the folder');
  return file;
}

/** Lists the photographs of one part ('training'/'test' for DRIVE, 'train'/'test' for FIVES), numeric order. */
export function listFundusRecords(root: string, layout: FundusLayout, part: 'train' | 'test'): FundusRecord[] {
  const records: FundusRecord[] = [];
  if (layout === 'drive') {
    const dir = join(root, part === 'train' ? 'training' : 'test');
    for (const f of listDir(join(dir, 'images'), /^\d+_\w+\.tiff?$/i)) {
      const [, id, stem] = /^(\d+)_(\w+)\.tiff?$/i.exec(f)!;
      records.push({
        name: `${id}_${stem}`,
        image: join(dir, 'images', f),
        label: requireFile(join(dir, '1st_manual', `${id}_manual1.gif`), 'vessel mask'),
        fov: requireFile(join(dir, 'mask', `${id}_${stem}_mask.gif`), 'field-of-view mask'),
      });
    }
  } else {
    const dir = join(root, part);
    for (const f of listDir(join(dir, 'Original'), /^\d+_\w+\.png$/i)) {
      records.push({ name: f.replace(/\.png$/i, ''), image: join(dir, 'Original', f), label: requireFile(join(dir, 'Ground truth', f), 'vessel mask'), fov: null });
    }
  }
  if (!records.length) throw new DataError(root, `no images in the ${part} part of the ${layout.toUpperCase()} layout`, 'Point --data at the dataset root');
  return records.sort((a, b) => numericId(a.name) - numericId(b.name) || a.name.localeCompare(b.name));
}

export class FundusDataset implements SegDataset {
  readonly numClasses = 2;
  readonly classNames = FUNDUS_CLASS_NAMES;
  readonly trainSlices: readonly string[];
  readonly labeledIndices: readonly number[];
  readonly unlabeledIndices: readonly number[];
  readonly valVolumes: readonly string[];
  readonly size: number;
  readonly channel: InputChannel;
  private readonly records = new Map<string, FundusRecord>();
  private readonly sliceCache = new Map<number, SliceSample>();

  private constructor(
    readonly root: string,
    readonly layout: FundusLayout,
    train: readonly FundusRecord[],
    evaluation: readonly FundusRecord[],
    labeled: number,
    private readonly evaluateOn: 'validation' | 'test',
    opts: { size?: number; channel?: InputChannel },
  ) {
    if (!(Number.isInteger(labeled) && labeled >= 0 && labeled <= train.length)) {
      throw new UserError(`fundus split: ${labeled} labeled images requested, the training pool has ${train.length}: ask for at most ${train.length}`);
    }
    this.size = opts.size ?? 256;
    this.channel = opts.channel ?? 'green';
    for (const r of [...train, ...evaluation]) this.records.set(r.name, r);
    this.trainSlices = train.map((r) => r.name);
    this.labeledIndices = Array.from({ length: labeled }, (_, i) => i);
    this.unlabeledIndices = Array.from({ length: train.length - labeled }, (_, i) => labeled + i);
    this.valVolumes = evaluation.map((r) => r.name);
  }

  /** Lists the files of `opts.root` and splits them (see the header of this file). */
  static open(opts: FundusOptions): FundusDataset {
    const layout = detectFundusLayout(opts.root);
    if (!layout) {
      throw new DataError(opts.root, 'neither the DRIVE nor the FIVES layout', 'Give the folder holding training/images (DRIVE) or train/Original (FIVES)');
    }
    let pool = listFundusRecords(opts.root, layout, 'train');
    if (opts.splitSeed !== undefined) pool = new SeededRng(opts.splitSeed).permutation(pool.length).map((i) => pool[i]);
    const evaluateOn = opts.evaluateOn ?? 'validation';
    const validation = evaluateOn === 'test' ? 0 : opts.validation ?? (layout === 'drive' ? 4 : 80);
    if (!(Number.isInteger(validation) && validation >= 0 && validation + opts.labeled <= pool.length)) {
      throw new UserError(`fundus split: ${opts.labeled} labeled + ${validation} validation images requested, the training part has ${pool.length}: lower --labeled or --validation`);
    }
    const evaluation = evaluateOn === 'test' ? listFundusRecords(opts.root, layout, 'test') : pool.slice(pool.length - validation);
    const rest = pool.slice(0, pool.length - validation);
    const unlabeled = Math.max(0, Math.min(opts.unlabeled ?? Infinity, rest.length - opts.labeled));
    const train = rest.slice(0, opts.labeled + unlabeled);
    return new FundusDataset(opts.root, layout, train, evaluation, opts.labeled, evaluateOn, opts);
  }

  /**
   * Checks every photograph in use (training and evaluation) before work starts: image, vessel mask and
   * FOV mask exist, are complete PNG/TIFF/GIF files (headers and ends only, no decoding), and agree in
   * size. Throws the first problem as a DataError naming the file.
   */
  preflight(): void {
    for (const r of this.records.values()) {
      const image = inspectImageFile(r.image);
      for (const [file, what] of [[r.label, 'vessel mask'], [r.fov, 'field-of-view mask']] as const) {
        if (!file) continue;
        const mask = inspectImageFile(file);
        if (mask.width !== image.width || mask.height !== image.height) {
          throw new DataError(file, `${what} is ${mask.width}×${mask.height}, the image ${image.width}×${image.height}`, 'Use the mask that belongs to this image');
        }
      }
    }
  }

  /** A training image resized to size×size (label: nearest). */
  getSlice(index: number): SliceSample {
    if (!Number.isInteger(index) || index < 0 || index >= this.trainSlices.length) {
      throw new RangeError(`FundusDataset.getSlice: index ${index} outside 0..${this.trainSlices.length - 1}`);
    }
    let s = this.sliceCache.get(index);
    if (!s) {
      const v = this.getVolume(this.trainSlices[index]);
      s = {
        name: v.name,
        height: this.size,
        width: this.size,
        image: this.networkInput(v),
        label: zoomNearest(v.label, v.height, v.width, this.size, this.size, 'clamp'),
      };
      this.sliceCache.set(index, s);
    }
    return s;
  }

  /** A photograph at native resolution as a 1-slice volume (not cached: FIVES images are 2048²). */
  getVolume(name: string): VolumeSample {
    const r = this.record(name);
    const photo = readImageFile(r.image);
    const mask = readImageFile(r.label);
    if (mask.width !== photo.width || mask.height !== photo.height) {
      throw new DataError(r.label, `mask is ${mask.width}×${mask.height}, the image ${photo.width}×${photo.height}`, 'Use the mask that belongs to this image');
    }
    return { name, depth: 1, height: photo.height, width: photo.width, image: intensity(photo, this.channel), label: binaryMask(mask) };
  }

  /** The field-of-view mask at native resolution, or null where the layout has none (FIVES). */
  getFov(name: string): Uint8Array | null {
    const r = this.record(name);
    return r.fov ? binaryMask(readImageFile(r.fov)) : null;
  }

  /** What the network sees of a native image: resized to size×size with area/bilinear filtering. */
  networkInput(v: { image: Float32Array; height: number; width: number }): Float32Array {
    return resizeFiltered(v.image, v.height, v.width, this.size, this.size);
  }

  describe(): string {
    return (
      `${this.layout.toUpperCase()} at ${this.root} (${this.channel} channel, ${this.size}²): ${this.labeledIndices.length} labeled, ` +
      `${this.unlabeledIndices.length} unlabeled, ${this.valVolumes.length} ${this.evaluateOn} images (${this.valVolumes.join(' ')})`
    );
  }

  private record(name: string): FundusRecord {
    const r = this.records.get(name);
    if (!r) throw new Error(`FundusDataset: no image named '${name}'`);
    return r;
  }
}
