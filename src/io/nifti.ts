// Reads the original ACDC challenge files (patientXXX_frameYY.nii.gz and its _gt.nii.gz) with the
// nifti-reader-js header parser; gzip is undone with node:zlib. NIfTI stores x fastest, then y,
// then z, which read as a row-major array is [z, y, x] — the same [D, H, W] order SimpleITK's
// GetArrayFromImage gives the preprocessing scripts, so volumes line up with the HDF5 copies.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { DataError, validatePair, type VolumeSample } from '../data/dataset.js';

/** The source file's header, kept so that results can be written on exactly its grid (nifti-write.ts). */
export interface NiftiHeaderBytes {
  /** 1: the 348-byte NIfTI-1 header; 2: the 540-byte NIfTI-2 header. */
  version: 1 | 2;
  littleEndian: boolean;
  /** A private copy of the header (without extensions). */
  bytes: Uint8Array;
}

export interface NiftiVolume {
  /** [depth, height, width] = [nz, ny, nx]. */
  shape: [number, number, number];
  /** Voxel values after scl_slope/scl_inter, in file order. */
  data: Float64Array;
  /** Voxel size (x, y, z) from pixdim, usually millimetres. */
  spacing: [number, number, number];
  header: NiftiHeaderBytes;
}

type Reader = (view: DataView, offset: number, littleEndian: boolean) => number;
const READERS: Record<number, [bytes: number, read: Reader]> = {
  2: [1, (v, o) => v.getUint8(o)],
  256: [1, (v, o) => v.getInt8(o)],
  4: [2, (v, o, le) => v.getInt16(o, le)],
  512: [2, (v, o, le) => v.getUint16(o, le)],
  8: [4, (v, o, le) => v.getInt32(o, le)],
  768: [4, (v, o, le) => v.getUint32(o, le)],
  16: [4, (v, o, le) => v.getFloat32(o, le)],
  64: [8, (v, o, le) => v.getFloat64(o, le)],
};

interface ParsedNifti {
  buffer: ArrayBuffer;
  header: ReturnType<typeof nifti.readHeader>;
  shape: [number, number, number];
  spacing: [number, number, number];
  raw: NiftiHeaderBytes;
}

/** Reads, un-gzips and checks a file's header: one readable 3D (or single-frame 4D) volume. */
function parseNifti(path: string): ParsedNifti {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${code})`, 'Check the path to the NIfTI file');
  }
  let bytes: Uint8Array = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch (err) {
      throw new DataError(path, `damaged gzip stream (${(err as Error).message})`, 'Replace it with the original .nii.gz file');
    }
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const version = nifti.isNIFTI1(buffer) ? 1 : nifti.isNIFTI2(buffer) ? 2 : 0;
  if (!version) {
    throw new DataError(path, 'not a NIfTI file (no n+1/n+2 magic; .hdr/.img pairs are not read)', 'Give a single-file .nii or .nii.gz volume');
  }
  const header = nifti.readHeader(buffer);
  const [rank, nx, ny, nz, nt] = header.dims;
  if (rank < 2 || rank > 4 || (rank === 4 && nt !== 1)) {
    throw new DataError(path, `has ${rank} dimensions [${header.dims.slice(1, rank + 1)}]`, 'Use a single-frame 3D file (patientXXX_frameYY.nii.gz), not the 4D cine series');
  }
  if (!READERS[header.datatypeCode]) throw new DataError(path, `unsupported NIfTI datatype code ${header.datatypeCode}`, 'Convert it to an integer or float voxel type');
  const [, sx, sy, sz] = header.pixDims;
  const size = version === 1 ? 348 : 540;
  return {
    buffer,
    header,
    shape: [rank >= 3 ? nz : 1, ny, nx],
    spacing: [sx, sy, sz],
    raw: { version, littleEndian: header.littleEndian, bytes: new Uint8Array(buffer.slice(0, size)) },
  };
}

/** Only the header and grid of a .nii/.nii.gz volume (checked as readNifti checks it), without decoding voxels. */
export function readNiftiHeader(path: string): Omit<NiftiVolume, 'data'> {
  const { shape, spacing, raw } = parseNifti(path);
  return { shape, spacing, header: raw };
}

/** Reads a .nii or .nii.gz 3D volume (a 4D file with one time point is accepted). */
export function readNifti(path: string): NiftiVolume {
  const { buffer, header, shape, spacing, raw } = parseNifti(path);
  const [size, read] = READERS[header.datatypeCode];
  const n = shape[0] * shape[1] * shape[2];
  const offset = Math.trunc(header.vox_offset);
  if (offset + n * size > buffer.byteLength) {
    throw new DataError(path, `truncated: ${n} voxels of ${size} bytes need ${offset + n * size} bytes, file has ${buffer.byteLength}`, 'Replace it with the original file');
  }
  const view = new DataView(buffer, offset, n * size);
  // scl_slope = 0 means "no scaling" in the NIfTI standard.
  const slope = header.scl_slope && Number.isFinite(header.scl_slope) ? header.scl_slope : 1;
  const inter = Number.isFinite(header.scl_inter) && header.scl_slope ? header.scl_inter : 0;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = read(view, i * size, header.littleEndian) * slope + inter;
  return { shape, data, spacing, header: raw };
}

/** Min-max normalisation of a whole volume to [0, 1] (a constant volume becomes all zeros). */
export function minMaxNormalise(data: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  const out = new Float32Array(data.length);
  const scale = hi > lo ? 1 / (hi - lo) : 0;
  for (let i = 0; i < data.length; i++) out[i] = (data[i] - lo) * scale;
  return out;
}

/**
 * An ACDC challenge volume: image normalised per volume to [0, 1], label from the ground-truth file
 * (default: the image path with .nii.gz replaced by _gt.nii.gz).
 */
export function readAcdcNifti(imagePath: string, labelPath = imagePath.replace(/\.nii(\.gz)?$/, '_gt.nii$1'), numClasses = 4): VolumeSample {
  const image = readNifti(imagePath);
  const gt = readNifti(labelPath);
  if (String(image.shape) !== String(gt.shape)) {
    throw new DataError(labelPath, `label shape [${gt.shape}] differs from image shape [${image.shape}] (${imagePath})`, 'Pair each image with its own _gt file');
  }
  const label = new Uint8Array(gt.data.length);
  for (let i = 0; i < gt.data.length; i++) {
    const v = gt.data[i];
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new DataError(labelPath, `label value ${v} at voxel ${i} is not a class index`, 'Use the _gt file with integer classes 0..3');
    }
    label[i] = v;
  }
  const [depth, height, width] = image.shape;
  const name = (imagePath.split('/').pop() ?? imagePath).replace(/\.nii(\.gz)?$/, '');
  // NIfTI gives spacing as (x, y, z); VolumeSample keeps (z, y, x) like its [D, H, W] layout.
  const [sx, sy, sz] = image.spacing;
  const sample: VolumeSample = { name, depth, height, width, image: minMaxNormalise(image.data), label, spacing: [sz, sy, sx] };
  validatePair(labelPath, image.shape, sample.image, sample.label, numClasses);
  return sample;
}
