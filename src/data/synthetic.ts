// Unlabeled pools from a folder of slices — the synthetic images a StyleGAN2 generator writes for
// SRA-Seg (`--unlabeled <folder>`): HDF5 files with an `image` dataset ([H, W] float in [0, 1], the
// ACDC slice layout) or 8-bit grayscale/RGB PNGs (scaled to [0, 1], RGB averaged). A `WithUnlabeled`
// dataset keeps the labeled slices and validation volumes of a base set and swaps its unlabeled pool.
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { PNG } from 'pngjs';
import { ensureHdf5Ready, inspectHdf5Datasets, readHdf5Datasets } from '../io/hdf5.js';
import { inspectImageFile } from './image-decode.js';
import { DataError, type SegDataset, type SliceSample, type VolumeSample } from './dataset.js';

export function readSliceFile(path: string): SliceSample {
  const name = path.split('/').pop() ?? path;
  let image: Float32Array;
  let height: number;
  let width: number;
  if (extname(path).toLowerCase() === '.png') {
    let png: PNG;
    try {
      png = PNG.sync.read(readFileSync(path));
    } catch (e) {
      throw new DataError(path, `not a readable PNG (${(e as Error).message})`, 'Regenerate the file or remove it from the folder');
    }
    [height, width] = [png.height, png.width];
    image = new Float32Array(height * width);
    for (let i = 0; i < image.length; i++) image[i] = (png.data[4 * i] + png.data[4 * i + 1] + png.data[4 * i + 2]) / (3 * 255);
  } else {
    const { image: d } = readHdf5Datasets(path, ['image']);
    if (d.shape.length !== 2) throw new DataError(path, `'image' has shape [${d.shape}], expected [H, W]`, 'Write one 2D slice per file');
    [height, width] = d.shape;
    image = Float32Array.from(d.data as ArrayLike<number>);
  }
  // Labels of unlabeled slices are never used; an all-background map keeps the SliceSample shape.
  return { name, height, width, image, label: new Uint8Array(height * width) };
}

export class WithUnlabeled implements SegDataset {
  readonly numClasses: number;
  readonly trainSlices: readonly string[];
  readonly labeledIndices: readonly number[];
  readonly unlabeledIndices: readonly number[];
  readonly valVolumes: readonly string[];
  private readonly cache = new Map<number, SliceSample>();

  private constructor(
    private readonly base: SegDataset,
    private readonly folder: string,
    private readonly files: string[],
  ) {
    this.numClasses = base.numClasses;
    this.valVolumes = base.valVolumes;
    const labeledNames = base.labeledIndices.map((i) => base.trainSlices[i]);
    this.trainSlices = [...labeledNames, ...files];
    this.labeledIndices = labeledNames.map((_, i) => i);
    this.unlabeledIndices = files.map((_, i) => labeledNames.length + i);
  }

  /** The base set's labeled slices and volumes, with every .h5/.png in `folder` as the unlabeled pool. */
  static async open(base: SegDataset, folder: string): Promise<WithUnlabeled> {
    let files: string[];
    try {
      files = readdirSync(folder).filter((f) => /\.(h5|png)$/i.test(f)).sort();
    } catch {
      throw new DataError(folder, 'unlabeled folder not found', 'Give a folder of .h5 or .png slices (bench/generate.js writes one)');
    }
    if (!files.length) throw new DataError(folder, 'no .h5 or .png slices in the folder', 'Generate synthetic slices first');
    await ensureHdf5Ready();
    return new WithUnlabeled(base, folder, files);
  }

  /** The base set's files, then every slice of the folder: a complete PNG, or HDF5 with a 2D 'image'. */
  preflight(): void {
    this.base.preflight?.();
    for (const f of this.files) checkSliceFile(join(this.folder, f));
  }

  getSlice(index: number): SliceSample {
    const nLabeled = this.labeledIndices.length;
    if (index < nLabeled) return this.base.getSlice(this.base.labeledIndices[index]);
    let s = this.cache.get(index);
    if (!s) this.cache.set(index, (s = readSliceFile(join(this.folder, this.trainSlices[index]))));
    return s;
  }

  getVolume(name: string): VolumeSample {
    return this.base.getVolume(name);
  }

  describe(): string {
    return `${this.base.describe()} — unlabeled pool replaced by ${this.files.length} slices from ${this.folder}`;
  }
}

/** The header check of a slice file readSliceFile would read (no pixel decoding). */
export function checkSliceFile(path: string): void {
  if (extname(path).toLowerCase() === '.png') {
    if (inspectImageFile(path).format !== 'png') throw new DataError(path, 'not a PNG file despite its name', 'Regenerate the file or remove it from the folder');
    return;
  }
  const { image } = inspectHdf5Datasets(path, ['image']);
  if (image.shape.length !== 2) throw new DataError(path, `'image' has shape [${image.shape}], expected [H, W]`, 'Write one 2D slice per file');
}
