// The writers behind segment and --save-predictions: NIfTI on the source's header, HDF5 in the ACDC
// layout, indexed PNG. Each is read back by an independent reader (nifti-reader-js's header parser,
// h5wasm, pngjs); test/golden/nifti_roundtrip.py does the same for NIfTI with nibabel, by hand.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { PNG } from 'pngjs';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { tempDir } from './fixtures.js';

const tmp = tempDir('io-writers');
const FIXTURES = ['test/golden/oblique_tiny.nii.gz', 'test/golden/oblique_tiny_nifti2.nii.gz'];

/** A label pattern that differs along every axis: label(x, y, z) = (x + 2y + 3z) mod 4, stored [z][y][x]. */
function pattern([nz, ny, nx]: number[]): Uint8Array {
  const out = new Uint8Array(nz * ny * nx);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[(z * ny + y) * nx + x] = (x + 2 * y + 3 * z) % 4;
  return out;
}

function header(path: string) {
  let bytes: Uint8Array = readFileSync(path);
  if (bytes[0] === 0x1f) bytes = gunzipSync(bytes);
  return nifti.readHeader(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

for (const source of FIXTURES) {
  for (const ext of ['.nii.gz', '.nii']) {
    // Catches: labels written in another axis order (the pattern differs along x, y and z), scl_slope
    // left at the source's 2 (labels would read back as 2L − 10), the wrong datatype, the sform or
    // qform lost or rebuilt (nifti-reader-js's own serialiser drops the sform when qform_code ≥ it),
    // spacing or units changed, and a .nii.gz that is not gzipped.
    test(`NIfTI labels on ${source.split('/').pop()}'s header, as ${ext}: grid, header fields and labels survive`, () => {
      const src = E.readNifti(source);
      const labels = pattern(src.shape);
      const out = join(tmp, `labels${src.header.version}${ext}`);
      E.writeNiftiLabels(out, src.header, labels);
      assert.is(readFileSync(out)[0] === 0x1f, ext === '.nii.gz', 'gzip exactly when the name says so');
      const back = E.readNifti(out);
      assert.equal(back.shape, src.shape);
      assert.equal(back.spacing, src.spacing);
      assert.equal(Array.from(back.data), Array.from(labels), 'labels voxel for voxel, in file order');
      const [a, b] = [header(source), header(out)];
      assert.is(b.datatypeCode, 2, 'uint8');
      assert.is(b.numBitsPerVoxel, 8);
      assert.is(b.scl_slope, 1);
      assert.is(b.scl_inter, 0);
      assert.is(b.cal_min, 0);
      assert.is(b.cal_max, 3);
      assert.is(b.intent_code, 1002, 'NIFTI_INTENT_LABEL');
      for (const k of ['dims', 'pixDims', 'affine', 'qform_code', 'sform_code', 'quatern_b', 'quatern_c', 'quatern_d', 'qoffset_x', 'qoffset_y', 'qoffset_z', 'xyzt_units', 'dim_info', 'slice_code', 'slice_start', 'slice_end', 'slice_duration', 'toffset', 'description', 'aux_file', 'littleEndian'] as const) {
        assert.equal(b[k], a[k], k);
      }
      // The fixture's sform (code 2, with a shear) and qform (code 1) differ: both must be there.
      assert.is(a.sform_code, 2);
      assert.is(a.qform_code, 1);
      // Byte for byte: only the fields that describe voxel values may differ from the source header.
      const changed = src.header.version === 1
        ? [[56, 74], [108, 120], [124, 132], [328, 348]] // intent_p1..3, intent_code, datatype, bitpix; vox_offset, scl_*; cal_*; intent_name, magic
        : [[4, 16], [80, 104], [168, 208], [504, 524]];
      let raw: Uint8Array = readFileSync(out);
      if (raw[0] === 0x1f) raw = gunzipSync(raw);
      const size = src.header.version === 1 ? 348 : 540;
      for (let i = 0; i < size; i++) {
        if (changed.some(([lo, hi]) => i >= lo && i < hi)) continue;
        assert.is(raw[i], src.header.bytes[i], `header byte ${i}`);
      }
    });
  }
}

test('NIfTI writer: a label count that does not fill the grid is refused', () => {
  const src = E.readNifti(FIXTURES[0]);
  assert.throws(() => E.encodeNiftiLabels(src.header, new Uint8Array(7)), /7 labels for a grid of 2340 voxels/);
});

// Catches: datasets flattened or transposed, the uint8 label stored as float (or the image as
// anything but its own type), the image not copied, values altered on the way.
test('HDF5: image (float32 and float64) and label (uint8) round-trip with their shapes and types', async () => {
  await E.ensureHdf5Ready();
  for (const [image, dtype] of [[new Float32Array(2 * 5 * 6).map((_, i) => i / 7 - 1), '<f'], [new Float64Array(2 * 5 * 6).map((_, i) => Math.PI * i), '<d']] as const) {
    const label = pattern([2, 5, 6]);
    const path = join(tmp, `roundtrip-${dtype === '<f' ? 32 : 64}.h5`);
    E.writeHdf5Datasets(path, { image: { shape: [2, 5, 6], data: image }, label: { shape: [2, 5, 6], data: label } });
    const back = E.readHdf5Datasets(path, ['image', 'label']);
    assert.equal(back.image.shape, [2, 5, 6]);
    assert.equal(back.label.shape, [2, 5, 6]);
    assert.is(back.image.dtype, dtype);
    assert.instance(back.label.data, Uint8Array);
    assert.equal(Array.from(back.image.data), Array.from(image));
    assert.equal(Array.from(back.label.data), Array.from(label));
  }
  // A 2D slice file, as the ACDC training slices are.
  const path = join(tmp, 'slice.h5');
  E.writeHdf5Datasets(path, { image: { shape: [3, 4], data: new Float32Array(12).fill(0.5) }, label: { shape: [3, 4], data: pattern([1, 3, 4]) } });
  const slice = E.readAcdcSlice(path);
  assert.equal([slice.height, slice.width], [3, 4]);
  assert.equal(Array.from(slice.label), Array.from(pattern([1, 3, 4])));
  assert.throws(() => E.writeHdf5Datasets(path, { image: { shape: [3, 5], data: new Float32Array(12) } }), /'image' has 12 values, shape \[3,5\] needs 15/);
});

// Catches: a colour type other than indexed (3), rows swapped or transposed, a palette off by one,
// a 2-class mask whose foreground does not read as white (DRIVE/FIVES-style masks are white).
test('indexed PNG: pixel = class index, palette colours, read back by pngjs', () => {
  const [w, h] = [7, 3];
  const labels = Uint8Array.from({ length: w * h }, (_, i) => (i % w) % 4 === 3 && i >= w ? 3 : ((i % w) + Math.floor(i / w)) % 3);
  const palette = E.labelFilePalette(4);
  const bytes = E.encodeIndexedPng(w, h, labels, palette);
  assert.is(bytes[8 + 8 + 9], 3, 'IHDR colour type: indexed');
  const png = PNG.sync.read(Buffer.from(bytes));
  assert.equal([png.width, png.height], [w, h]);
  for (let i = 0; i < w * h; i++) {
    assert.equal(Array.from(png.data.subarray(4 * i, 4 * i + 3)), [...palette[labels[i]]], `pixel ${i}`);
  }
  const distinct = new Set(palette.map((c) => c.join()));
  assert.is(distinct.size, 4, 'every class its own colour');
  const mask = PNG.sync.read(Buffer.from(E.encodeIndexedPng(2, 1, Uint8Array.from([0, 1]), E.labelFilePalette(2))));
  assert.equal(Array.from(mask.data), [0, 0, 0, 255, 255, 255, 255, 255]);
  assert.throws(() => E.encodeIndexedPng(2, 1, Uint8Array.from([0, 4]), palette), /index 4 at pixel 1 has no palette colour/);
});

test.run();
