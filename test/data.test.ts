// Data loading: ACDC HDF5 (real files when present, small synthetic ones always), NIfTI, the
// phantom, augmentation and zoom against scipy (test/golden/zoom_golden.json, written by
// test/golden/zoom_golden.py), the two-stream sampler, the seeded RNG. CPU only.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as h5 from 'h5wasm';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { tempDir, throwsData } from './fixtures.js';

const golden = JSON.parse(readFileSync('test/golden/zoom_golden.json', 'utf8'));
const tmp = tempDir('data');

/** Writes an HDF5 file with the given datasets (h5wasm's in-memory FS, then to disk). */
async function writeH5(path: string, datasets: Record<string, { data: Float32Array | Uint8Array; shape: number[] }>): Promise<void> {
  await E.ensureHdf5Ready();
  const scratch = '/test-write.h5';
  const f = new h5.File(scratch, 'w');
  for (const [name, d] of Object.entries(datasets)) f.create_dataset({ name, data: d.data, shape: d.shape });
  f.close();
  writeFileSync(path, h5.FS!.readFile(scratch));
  h5.FS!.unlink(scratch);
}

// ---- seeded RNG ----

test('SeededRng: saved state resumes the same stream; int() stays in range', () => {
  const r = new E.SeededRng(1337);
  for (let i = 0; i < 10; i++) r.next();
  const saved = JSON.parse(JSON.stringify(r.state()));
  const a = Array.from({ length: 20 }, () => r.nextU32());
  const b = E.SeededRng.fromState(saved);
  assert.equal(Array.from({ length: 20 }, () => b.nextU32()), a);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[r.int(0, 4)]++;
  for (const c of counts) assert.ok(Math.abs(c / 4000 - 0.25) < 0.03, `int(0,4) frequencies ${counts}`); // ~5σ
  assert.equal([...r.permutation(7)].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.not.equal(new E.SeededRng(1).nextU32(), new E.SeededRng(2).nextU32());
});

// ---- zoom vs scipy.ndimage.zoom(order=0) ----

test('nearestZoomIndices equals scipy zoom(order=0) for ACDC sizes to 256 and back', () => {
  for (const c of golden.zoom1d) assert.equal([...E.nearestZoomIndices(c.in, c.out)], c.idx, `${c.in} → ${c.out}`);
  // scipy's rounding-error edge: 256 → 216 leaves the last output row 0; 'clamp' samples row 255.
  assert.is(E.nearestZoomIndices(256, 216)[215], -1);
  assert.is(E.nearestZoomIndices(256, 216, 'clamp')[215], 255);
  const back = E.zoomNearest(new Uint8Array(256 * 4).fill(3), 256, 4, 216, 4);
  assert.equal([...back.subarray(214 * 4)], [3, 3, 3, 3, 0, 0, 0, 0]);
});

test('zoomNearest equals scipy on small non-square 2D arrays (exact)', () => {
  for (const c of golden.zoom2d) {
    const y = E.zoomNearest(Float32Array.from(c.x), c.h, c.w, c.oh, c.ow);
    assert.equal([...y], c.y, `${c.h}×${c.w} → ${c.oh}×${c.ow}`);
  }
  const lab = E.zoomNearest(Uint8Array.from([0, 1, 2, 3]), 2, 2, 3, 3);
  assert.instance(lab, Uint8Array);
  assert.equal([...lab], [0, 1, 1, 2, 3, 3, 2, 3, 3]); // ties (k·0.5 = 0.5) round up, as scipy
});

// ---- augmentation ----

test('rot90+flip: hand-computed 2×3 cases and numpy golden for every k and axis (exact)', () => {
  const x = Float32Array.from([1, 2, 3, 4, 5, 6]); // [[1,2,3],[4,5,6]]
  const run = (k: number, axis: 0 | 1) => {
    const w = E.rot90FlipWarp(k, axis, 2, 3);
    return { shape: [w.outHeight, w.outWidth], y: [...E.warpNearest(x, 2, 3, w)] };
  };
  // rot90 once: [[3,6],[2,5],[1,4]]; flipping rows gives the transpose.
  assert.equal(run(1, 0), { shape: [3, 2], y: [1, 4, 2, 5, 3, 6] });
  assert.equal(run(0, 1), { shape: [2, 3], y: [3, 2, 1, 6, 5, 4] });
  assert.equal(run(2, 0), { shape: [2, 3], y: [3, 2, 1, 6, 5, 4] }); // 180° then row flip = column flip
  assert.equal(run(3, 1), { shape: [3, 2], y: [1, 4, 2, 5, 3, 6] }); // rot270: [[4,1],[5,2],[6,3]], columns flipped
  const g = golden.rot90flip;
  for (const c of g.cases) {
    const w = E.rot90FlipWarp(c.k, c.axis, g.h, g.w);
    assert.equal([w.outHeight, w.outWidth], c.shape);
    assert.equal([...E.warpNearest(Float32Array.from(g.x), g.h, g.w, w)], c.y, `k=${c.k} axis=${c.axis}`);
  }
});

test('rotation equals scipy.ndimage.rotate(order=0, reshape=False) for every angle in [-20, 20) (exact)', () => {
  const g = golden.rotate;
  const img = Float32Array.from(g.image);
  const lab = Uint8Array.from(g.label);
  for (const c of g.cases) {
    const w = E.rotationWarp(c.angle, g.h, g.w);
    assert.equal([...E.warpNearest(img, g.h, g.w, w)], c.image, `image at ${c.angle}°`);
    assert.equal([...E.warpNearest(lab, g.h, g.w, w)], c.label, `label at ${c.angle}°`);
  }
});

test('drawAugmentation follows the published probabilities and ranges', () => {
  const r = new E.SeededRng(7);
  const n = 4000;
  const counts = { none: 0, 'rot90-flip': 0, rotate: 0 };
  for (let i = 0; i < n; i++) {
    const a = E.drawAugmentation(r);
    counts[a.kind]++;
    if (a.kind === 'rotate') assert.ok(Number.isInteger(a.degrees) && a.degrees >= -20 && a.degrees < 20);
    if (a.kind === 'rot90-flip') assert.ok(a.k >= 0 && a.k < 4 && (a.axis === 0 || a.axis === 1));
  }
  // Expected 0.5 / 0.25 / 0.25; tolerance 0.035 ≈ 5σ at n = 4000.
  assert.ok(Math.abs(counts['rot90-flip'] / n - 0.5) < 0.035, JSON.stringify(counts));
  assert.ok(Math.abs(counts.rotate / n - 0.25) < 0.035, JSON.stringify(counts));
  assert.ok(Math.abs(counts.none / n - 0.25) < 0.035, JSON.stringify(counts));
});

test('augmentAndResize: same seed → same output; image and label move together', () => {
  const s = E.phantomSlice(3, 40);
  // Make the image a function of the label so their alignment is checkable after warping.
  const tagged: E.SliceSample = { ...s, image: Float32Array.from(s.label, (k) => (k + 1) / 4) };
  const a = E.augmentAndResize(tagged, new E.SeededRng(11), 48, 32);
  const b = E.augmentAndResize(tagged, new E.SeededRng(11), 48, 32);
  assert.equal([a.height, a.width], [48, 32]);
  assert.equal([...a.image], [...b.image]);
  const r = new E.SeededRng(5);
  for (let t = 0; t < 20; t++) {
    const o = E.augmentAndResize(tagged, r, 40);
    for (let i = 0; i < o.label.length; i++) {
      // Outside the rotated field both are 0 (constant fill); elsewhere image = (label+1)/4.
      const want = o.image[i] === 0 ? 0 : (o.label[i] + 1) / 4;
      assert.is(o.image[i], want, `pixel ${i} after augmentation ${t}`);
    }
  }
});

// ---- sampler ----

test('TwoStreamBatchSampler: per-epoch labeled permutation, unlabeled pool, deterministic, resumable', () => {
  const labeled = [0, 1, 2, 3, 4, 5, 6];
  const unlabeled = Array.from({ length: 10 }, (_, i) => 100 + i);
  const s = new E.TwoStreamBatchSampler(labeled, unlabeled, 3, 4, 1337);
  assert.is(s.batchesPerEpoch, 2); // 7 // 3, short tail dropped as in SSL4MIS
  const batches = Array.from({ length: 9 }, () => s.next());
  assert.equal(batches.map((b) => b.epoch), [0, 0, 1, 1, 2, 2, 3, 3, 4]);
  for (let e = 0; e < 4; e++) {
    const seen = [...batches[2 * e].labeled, ...batches[2 * e + 1].labeled];
    assert.is(new Set(seen).size, 6, `epoch ${e}: labeled indices distinct within an epoch`);
  }
  for (const b of batches) for (const u of b.unlabeled) assert.ok(unlabeled.includes(u));
  const t = new E.TwoStreamBatchSampler(labeled, unlabeled, 3, 4, 1337);
  assert.equal(Array.from({ length: 9 }, () => t.next()), batches);
  // Resume after 5 batches (mid-epoch) from a JSON round-trip of the state.
  const u = new E.TwoStreamBatchSampler(labeled, unlabeled, 3, 4, 1337);
  for (let i = 0; i < 5; i++) u.next();
  const resumed = new E.TwoStreamBatchSampler(labeled, unlabeled, 3, 4, JSON.parse(JSON.stringify(u.state())));
  assert.equal(Array.from({ length: 4 }, () => resumed.next()), batches.slice(5));
  assert.throws(() => new E.TwoStreamBatchSampler([0, 1], unlabeled, 3, 4, 1), /cannot fill/);
});

// ---- phantom ----

test('phantom: deterministic, normalised, all four classes, LV brighter than myocardium', () => {
  const a = new E.PhantomDataset({ seed: 5, size: 96, trainSlices: 12, labeledSlices: 3, valVolumes: 2, volumeDepth: 6 });
  const b = new E.PhantomDataset({ seed: 5, size: 96, trainSlices: 12, labeledSlices: 3, valVolumes: 2, volumeDepth: 6 });
  assert.equal(a.labeledIndices, [0, 1, 2]);
  assert.is(a.unlabeledIndices.length, 9);
  assert.equal([...a.getSlice(4).image], [...b.getSlice(4).image]);
  assert.not.equal([...a.getSlice(4).image.slice(0, 50)], [...a.getSlice(5).image.slice(0, 50)]);
  let allClasses = 0;
  for (let i = 0; i < 12; i++) {
    const s = a.getSlice(i);
    assert.equal([s.height, s.width], [96, 96]);
    let lo = Infinity;
    let hi = -Infinity;
    const sum = [0, 0, 0, 0];
    const n = [0, 0, 0, 0];
    for (let p = 0; p < s.image.length; p++) {
      lo = Math.min(lo, s.image[p]);
      hi = Math.max(hi, s.image[p]);
      sum[s.label[p]] += s.image[p];
      n[s.label[p]]++;
    }
    assert.ok(lo === 0 && Math.abs(hi - 1) < 1e-6, `slice ${i} range [${lo}, ${hi}]`); // min-max normalised (f32)
    if (n.every((c) => c > 0)) allClasses++;
    assert.ok(n[2] > 0 && n[3] > 0, `slice ${i} has myocardium and LV`);
    assert.ok(sum[3] / n[3] > sum[2] / n[2] + 0.2, `slice ${i}: LV blood brighter than myocardium`);
  }
  assert.ok(allClasses >= 10, `${allClasses}/12 slices contain every class`);
  const v = a.getVolume(a.valVolumes[1]);
  assert.equal([v.depth, v.height, v.width], [6, 96, 96]);
  const rvIn = (z: number) => v.label.subarray(z * 96 * 96, (z + 1) * 96 * 96).some((k) => k === 1);
  assert.ok(rvIn(0) && !rvIn(5), 'RV at the base, none at the apex');
  assert.equal([...v.label], [...b.getVolume(b.valVolumes[1]).label]);
  throwsData(() => a.getVolume('nope'), 'nope', /no such phantom volume/);
  assert.match(a.describe(), /12 training slices, 3 labeled/);
});

// ---- NIfTI ----

/** A minimal NIfTI-1 single file: 348-byte header, 4 extension bytes, then voxels (x fastest). */
function niftiBytes(dims: number[], datatype: 2 | 4 | 16, values: number[], slope = 0, inter = 0): Buffer {
  const bytesPer = { 2: 1, 4: 2, 16: 4 }[datatype];
  const buf = Buffer.alloc(352 + values.length * bytesPer);
  buf.writeInt32LE(348, 0);
  buf.writeInt16LE(dims.length, 40);
  dims.forEach((d, i) => buf.writeInt16LE(d, 42 + 2 * i));
  buf.writeInt16LE(datatype, 70);
  buf.writeInt16LE(bytesPer * 8, 72);
  [1, 1.5, 1.5, 10].forEach((p, i) => buf.writeFloatLE(p, 76 + 4 * i));
  buf.writeFloatLE(352, 108);
  buf.writeFloatLE(slope, 112);
  buf.writeFloatLE(inter, 116);
  buf.write('n+1\0', 344, 'latin1');
  values.forEach((v, i) => {
    const at = 352 + i * bytesPer;
    if (datatype === 2) buf.writeUInt8(v, at);
    else if (datatype === 4) buf.writeInt16LE(v, at);
    else buf.writeFloatLE(v, at);
  });
  return buf;
}

test('NIfTI: gzipped image + _gt read as [D,H,W], per-volume min-max normalised, scl_slope applied', () => {
  const [nx, ny, nz] = [4, 3, 2];
  const raw = Array.from({ length: nx * ny * nz }, (_, i) => 100 + 7 * i);
  const gt = Array.from({ length: nx * ny * nz }, (_, i) => i % 4);
  const img = join(tmp, 'patient001_frame01.nii.gz');
  writeFileSync(img, gzipSync(niftiBytes([nx, ny, nz], 4, raw, 2, 5)));
  writeFileSync(join(tmp, 'patient001_frame01_gt.nii.gz'), gzipSync(niftiBytes([nx, ny, nz], 2, gt)));
  const vol = E.readNifti(img);
  assert.equal(vol.shape, [nz, ny, nx]);
  assert.equal([...vol.data], raw.map((v) => 2 * v + 5));
  assert.equal(vol.spacing, [1.5, 1.5, 10]);
  const s = E.readAcdcNifti(img);
  assert.is(s.name, 'patient001_frame01');
  assert.equal([s.depth, s.height, s.width], [nz, ny, nx]);
  assert.equal(s.spacing, [10, 1.5, 1.5], 'spacing in (z, y, x) order, for distances in mm');
  // Linear raw values → normalised i/(n−1); f32 rounding only (atol 1e-6).
  s.image.forEach((v, i) => assert.ok(Math.abs(v - i / (raw.length - 1)) < 1e-6, `voxel ${i}: ${v}`));
  assert.equal([...s.label], gt);
  throwsData(() => E.readAcdcNifti(join(tmp, 'patient009_frame01.nii.gz')), join(tmp, 'patient009_frame01.nii.gz'), /file not found/);
  const cine = join(tmp, 'patient001_4d.nii.gz');
  writeFileSync(cine, gzipSync(niftiBytes([2, 2, 1, 3], 16, Array(12).fill(1))));
  throwsData(() => E.readNifti(cine), cine, /4 dimensions.*single-frame/);
  const junk = join(tmp, 'junk.nii');
  writeFileSync(junk, Buffer.alloc(400, 7));
  throwsData(() => E.readNifti(junk), junk, /not a NIfTI file/);
});

// ---- HDF5 / ACDC layout on small synthetic files ----

test('HDF5: missing, non-HDF5, truncated, missing key, bad labels, shape mismatch → DataError naming the file', async () => {
  await E.ensureHdf5Ready();
  const dir = join(tmp, 'h5');
  mkdirSync(dir, { recursive: true });
  const img = Float32Array.from({ length: 12 }, (_, i) => i / 11);
  const good = join(dir, 'good.h5');
  await writeH5(good, { image: { data: img, shape: [3, 4] }, label: { data: new Uint8Array(12).fill(2), shape: [3, 4] } });
  const s = E.readAcdcSlice(good, 'good');
  assert.equal([s.height, s.width], [3, 4]);
  assert.instance(s.image, Float32Array);
  assert.equal([...s.image], [...img]);

  throwsData(() => E.readAcdcSlice(join(dir, 'absent.h5')), join(dir, 'absent.h5'), /file not found/);
  const garbage = join(dir, 'garbage.h5');
  writeFileSync(garbage, 'this is not an HDF5 file'.repeat(20));
  throwsData(() => E.readAcdcSlice(garbage), garbage, /not an HDF5 file/);
  const truncated = join(dir, 'truncated.h5');
  writeFileSync(truncated, readFileSync(good).subarray(0, 600));
  throwsData(() => E.readAcdcSlice(truncated), truncated, /damaged HDF5 file \(truncated file/);
  const noLabel = join(dir, 'nolabel.h5');
  await writeH5(noLabel, { image: { data: img, shape: [3, 4] } });
  throwsData(() => E.readAcdcSlice(noLabel), noLabel, /no dataset 'label' \(found: image\)/);
  const badLabel = join(dir, 'badlabel.h5');
  await writeH5(badLabel, { image: { data: img, shape: [3, 4] }, label: { data: new Uint8Array(12).fill(7), shape: [3, 4] } });
  throwsData(() => E.readAcdcSlice(badLabel), badLabel, /label value 7 is out of range 0\.\.3/);
  const mismatch = join(dir, 'mismatch.h5');
  await writeH5(mismatch, { image: { data: img, shape: [3, 4] }, label: { data: new Uint8Array(12), shape: [4, 3] } });
  throwsData(() => E.readAcdcSlice(mismatch), mismatch, /image \[3,4\] and label \[4,3\]/);
  throwsData(() => E.readAcdcVolume(good), good, /same 3D shape/);
});

test('AcdcDataset on a tiny synthetic tree: patient split, slices, volumes, missing listed file', async () => {
  const root = join(tmp, 'acdc');
  mkdirSync(join(root, 'data'), { recursive: true });
  const names = ['patient005_frame01_slice_1', 'patient005_frame01_slice_2', 'patient002_frame02_slice_1', 'patient007_frame01_slice_1', 'patient007_frame01_slice_3'];
  for (const [i, n] of names.entries()) {
    await writeH5(join(root, 'data', `${n}.h5`), { image: { data: new Float32Array(6).fill(i / 10), shape: [2, 3] }, label: { data: new Uint8Array(6).fill(i % 4), shape: [2, 3] } });
  }
  await writeH5(join(root, 'data', 'patient009_frame01.h5'), { image: { data: new Float32Array(24), shape: [2, 3, 4] }, label: { data: new Uint8Array(24), shape: [2, 3, 4] } });
  writeFileSync(join(root, 'train_slices.list'), names.join('\n') + '\n');
  writeFileSync(join(root, 'val.list'), 'patient009_frame01\n');
  const ds = await E.AcdcDataset.open({ root, labeled: { patients: 2 } });
  assert.equal(ds.labeledIndices, [0, 1, 2]);
  assert.equal(ds.unlabeledIndices, [3, 4]);
  assert.is(ds.getSlice(3).image[0], Math.fround(0.3));
  assert.is(ds.getSlice(3), ds.getSlice(3), 'decoded slices are cached');
  const v = ds.getVolume('patient009_frame01');
  assert.equal([v.depth, v.height, v.width], [2, 3, 4]);
  assert.match(ds.describe(), /5 training slices, 3 labeled \(2 patients\), 2 unlabeled \(1 patients\), 1 validation volumes/);
  assert.throws(() => E.labeledSliceCount(names, { patients: 4 }), /4 patients requested, the list has 3/);
  writeFileSync(join(root, 'test.list'), 'patient009_frame01\npatient010_frame01\n');
  try {
    await E.AcdcDataset.open({ root, labeled: { slices: 2 }, volumeList: 'test.list' });
    assert.unreachable('a listed but missing volume must fail at open');
  } catch (err) {
    assert.instance(err, E.DataError);
    assert.match((err as Error).message, /patient010_frame01\.h5: 1 listed file\(s\) not found/);
  }
});

// ---- the real ACDC set, when present ----

const acdcRoot = E.findAcdcRoot();
if (!acdcRoot) {
  console.log('data.test: ACDC not found at ../shared/data/ACDC or $SRASEG_ACDC; skipping the real-data tests');
  test.skip('real ACDC: lists, splits, a slice, a volume');
} else {
  test('real ACDC: list lengths, 5%/10% splits and their patients, a slice, a volume', async () => {
    const five = await E.AcdcDataset.open({ root: acdcRoot, labeled: E.ACDC_STANDARD_SPLITS['5%'] });
    assert.is(five.trainSlices.length, 1312);
    assert.is(five.valVolumes.length, 20);
    assert.is(five.labeledIndices.length, 68);
    assert.is(five.unlabeledIndices.length, 1312 - 68);
    const patients = (d: E.AcdcDataset) => [...new Set(d.labeledIndices.map((i) => E.patientOf(d.trainSlices[i])))];
    assert.equal(patients(five), ['patient099', 'patient038', 'patient050']);
    const ten = await E.AcdcDataset.open({ root: acdcRoot, labeled: E.ACDC_STANDARD_SPLITS['10%'] });
    assert.is(ten.labeledIndices.length, 136);
    assert.equal(patients(ten), ['patient099', 'patient038', 'patient050', 'patient100', 'patient058', 'patient021', 'patient049']);
    assert.is(E.labeledSliceCount(five.trainSlices, { slices: 68 }), 68);
    assert.is(E.labeledSliceCount(five.trainSlices, { patients: 14 }), 256); // SSL4MIS's patients_to_slices table
    assert.is(E.labeledSliceCount(five.trainSlices, { patients: 70 }), 1312);

    const s = five.getSlice(0);
    assert.is(s.name, 'patient099_frame01_slice_15');
    assert.instance(s.image, Float32Array);
    assert.instance(s.label, Uint8Array);
    assert.is(s.image.length, s.height * s.width);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of s.image) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    assert.ok(lo >= 0 && hi <= 1 && hi > lo, `image range [${lo}, ${hi}]`);
    assert.ok(Math.max(...s.label) <= 3);

    const v = five.getVolume(five.valVolumes[0]);
    assert.ok(v.depth > 1 && v.depth < 40 && v.height >= 128 && v.width >= 128, `volume [${v.depth}, ${v.height}, ${v.width}]`);
    assert.is(v.image.length, v.depth * v.height * v.width);
    const present = new Set(v.label);
    assert.ok([0, 1, 2, 3].every((k) => present.has(k)), `volume classes ${[...present]}`);

    const t0 = performance.now();
    for (const i of five.labeledIndices) five.getSlice(i);
    console.log(`data.test: read the 68 labeled ACDC slices in ${(performance.now() - t0).toFixed(0)} ms`);
  });
}

test.run();
