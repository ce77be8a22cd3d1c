// Writes a label volume (uint8 class indices) as NIfTI on exactly the grid of the volume it was
// predicted from, so that it overlays that volume in ITK-SNAP, 3D Slicer or nibabel.
//
// Rather than rebuilding a header from parsed fields (nifti-reader-js's own serialiser writes its
// derived `affine` as srow, which loses the sform whenever the qform takes precedence), the source
// header's bytes are copied and only the fields that describe the voxel values are changed:
// datatype/bitpix (uint8), scl_slope/scl_inter (1, 0: labels are stored as they are), cal_min/cal_max
// (the label range, for viewers' display window), intent (NIFTI_INTENT_LABEL, no parameters), the
// data offset and the magic (one file, no extensions). dim, pixdim, qform, sform, units, slice
// timing, description and aux_file stay byte for byte, in the source's byte order.
//
// Voxel order: readNifti returns the voxels in file order (x fastest, then y, then z), i.e. a
// row-major [nz, ny, nx] array; the labels are written back in that same order, so a prediction
// made on readNifti's array lands on the voxel it was made for.
import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../engine/index.js';
import type { NiftiHeaderBytes } from './nifti.js';

const NIFTI_TYPE_UINT8 = 2;
const NIFTI_INTENT_LABEL = 1002;

/** Byte offsets of the fields we change (nifti1.h / nifti2.h). */
const LAYOUT = {
  1: { size: 348, magic: 344, magicBytes: [0x6e, 0x2b, 0x31, 0x00], datatype: 70, bitpix: 72, dim: 40, dimBytes: 2, real: 4, voxOffset: 108, sclSlope: 112, sclInter: 116, calMax: 124, calMin: 128, intentP: 56, intentCode: 68, intentCodeBytes: 2, intentName: 328 },
  2: { size: 540, magic: 4, magicBytes: [0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], datatype: 12, bitpix: 14, dim: 16, dimBytes: 8, real: 8, voxOffset: 168, sclSlope: 176, sclInter: 184, calMax: 192, calMin: 200, intentP: 80, intentCode: 504, intentCodeBytes: 4, intentName: 508 },
} as const;

/** The voxel count the header's dim[] describes. */
export function niftiVoxelCount(header: NiftiHeaderBytes): number {
  const L = LAYOUT[header.version];
  const view = new DataView(header.bytes.buffer, header.bytes.byteOffset, L.size);
  const dim = (i: number) => (L.dimBytes === 2 ? view.getInt16(L.dim + 2 * i, header.littleEndian) : Number(view.getBigInt64(L.dim + 8 * i, header.littleEndian)));
  const rank = dim(0);
  let n = 1;
  for (let i = 1; i <= rank; i++) n *= Math.max(dim(i), 1);
  return n;
}

/** The file's bytes: the patched header, 4 zero extension bytes, then the labels (x fastest). */
export function encodeNiftiLabels(header: NiftiHeaderBytes, labels: Uint8Array): Uint8Array {
  const L = LAYOUT[header.version];
  if (header.bytes.length < L.size) throw new Error(`encodeNiftiLabels: a NIfTI-${header.version} header has ${L.size} bytes, got ${header.bytes.length}`);
  const voxels = niftiVoxelCount(header);
  if (labels.length !== voxels) throw new Error(`encodeNiftiLabels: ${labels.length} labels for a grid of ${voxels} voxels`);
  const offset = L.size + 4;
  const out = new Uint8Array(offset + labels.length);
  out.set(header.bytes.subarray(0, L.size));
  const view = new DataView(out.buffer);
  const le = header.littleEndian;
  const real = (at: number, v: number) => (L.real === 4 ? view.setFloat32(at, v, le) : view.setFloat64(at, v, le));
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] > maxLabel) maxLabel = labels[i];

  out.set(L.magicBytes, L.magic);
  view.setInt16(L.datatype, NIFTI_TYPE_UINT8, le);
  view.setInt16(L.bitpix, 8, le);
  if (L.real === 4) view.setFloat32(L.voxOffset, offset, le);
  else view.setBigInt64(L.voxOffset, BigInt(offset), le);
  real(L.sclSlope, 1);
  real(L.sclInter, 0);
  real(L.calMax, maxLabel);
  real(L.calMin, 0);
  for (let k = 0; k < 3; k++) real(L.intentP + k * L.real, 0);
  if (L.intentCodeBytes === 2) view.setInt16(L.intentCode, NIFTI_INTENT_LABEL, le);
  else view.setInt32(L.intentCode, NIFTI_INTENT_LABEL, le);
  out.fill(0, L.intentName, L.intentName + 16);
  // Bytes L.size .. L.size + 3 stay 0: no extensions follow.
  out.set(labels, offset);
  return out;
}

/** Writes `labels` as `path` (.nii, or gzip-compressed when the name ends in .gz), atomically. */
export function writeNiftiLabels(path: string, header: NiftiHeaderBytes, labels: Uint8Array): void {
  const bytes = encodeNiftiLabels(header, labels);
  writeFileAtomic(path, Buffer.from(path.toLowerCase().endsWith('.gz') ? gzipSync(bytes) : bytes));
}
