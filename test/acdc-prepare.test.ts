// prepare-acdc: the ACDC challenge's NIfTI release → the SSL4MIS HDF5 layout and standard split.
// test/golden/acdc_raw is a miniature release written by nibabel (test/golden/acdc_prepare.py: int16
// with scaling, uint8, float32; frames written out of order; a 4D cine file, Info.cfg and frames without
// _gt beside them), and acdc_prepare_expected.safetensors the arrays SSL4MIS's preprocessing makes of
// it, computed there with numpy.
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { runBench, tempDir } from './fixtures.js';
import { rejects } from './helpers.js';

const RAW = 'test/golden/acdc_raw';
const EXPECTED = E.loadSafetensors('test/golden/acdc_prepare_expected.safetensors').tensors;
/** An expected array as plain numbers (images F32, labels I32 in the golden file). */
function expected(key: string): { shape: number[]; data: number[] } {
  const t = EXPECTED.get(key)!;
  return { shape: t.shape, data: Array.from(t.data as ArrayLike<number>) };
}
const tmp = tempDir('acdc-prepare');
const quiet = { SRASEG_QUIET: '1', SRASEG_DEBUG: '' };

/** The release copied into a folder of its own, to be spoiled by a test. */
function releaseCopy(name: string): string {
  const root = join(tmp, name);
  cpSync(RAW, root, { recursive: true });
  return root;
}

// Catches: the volume in another axis order than SimpleITK's [z, y, x]; normalisation by the
// reciprocal or over a slice instead of the volume; frames named by their challenge number (frame12)
// or in file order instead of frame order; slices numbered from 0 or not in data/slices/; a label
// file not its frame's.
test('prepare-acdc: every volume and slice as numpy made them from the NIfTI files, named as SSL4MIS names them', async () => {
  const out = join(tmp, 'prepared');
  const r = runBench('prepare-acdc', ['--nifti', RAW, '--out', out], quiet);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 training patients \(6 slices\), 1 validation, 1 test, 1 outside the standard split/);
  assert.match(r.stderr, /8 annotated frames of 4 patients \(2 frame file\(s\) without _gt skipped\)/);
  assert.match(r.stderr, /note: 97 of the standard split's 100 patients are missing \(003, 004, 005, 006, 007, …\)/, 'a partial release is said to be one');
  await E.ensureHdf5Ready();
  const volumes = [...EXPECTED.keys()].filter((k) => k.endsWith('.image')).map((k) => k.slice(0, -'.image'.length));
  assert.equal(readdirSync(join(out, 'data')).filter((f) => f.endsWith('.h5')).sort(), volumes.map((v) => `${v}.h5`).sort());
  let slices = 0;
  for (const name of volumes) {
    const image = expected(`${name}.image`);
    const label = expected(`${name}.label`);
    const got = E.readHdf5Datasets(join(out, 'data', `${name}.h5`), ['image', 'label']);
    assert.equal(got.image.shape, image.shape, `${name}: [D, H, W]`);
    assert.is(got.image.dtype, '<f', `${name}: float32`);
    assert.is(got.label.dtype, '<B', `${name}: uint8`);
    assert.equal(Array.from(got.image.data), image.data, `${name}: image, bit for bit`);
    assert.equal(Array.from(got.label.data), label.data, `${name}: label`);
    const [D, H, W] = image.shape;
    for (let z = 0; z < D; z++) {
      const s = E.readHdf5Datasets(join(out, 'data', 'slices', `${name}_slice_${z + 1}.h5`), ['image', 'label']);
      assert.equal(s.image.shape, [H, W]);
      assert.equal(Array.from(s.image.data), image.data.slice(z * H * W, (z + 1) * H * W), `${name} slice ${z + 1}`);
      assert.equal(Array.from(s.label.data), label.data.slice(z * H * W, (z + 1) * H * W), `${name} slice ${z + 1}: label`);
      slices++;
    }
  }
  assert.is(readdirSync(join(out, 'data', 'slices')).length, slices, 'no other slice files');
  assert.not.ok(readdirSync(tmp).some((n) => n.includes('.partial-')), 'the partial folder was renamed');
});

// Catches: patients put in the wrong list (patient 099 trains, 002 validates, 001 tests; 101 is
// outside the split), the training slices not in patient-then-frame-then-slice order, an empty list
// written. And the prepared set is what the trainers and evaluation open.
test('prepare-acdc: the standard split\'s lists, and the set opens as --data for training and evaluation', async () => {
  const out = join(tmp, 'prepared');
  const list = (f: string) => readFileSync(join(out, f), 'utf8').trim().split('\n');
  assert.equal(list('train.list'), ['patient099_frame01', 'patient099_frame02']);
  assert.equal(list('train_slices.list'), [1, 2].flatMap((f) => [1, 2, 3].map((s) => `patient099_frame0${f}_slice_${s}`)));
  assert.equal(list('val.list'), ['patient002_frame01', 'patient002_frame02']);
  assert.equal(list('test.list'), ['patient001_frame01', 'patient001_frame02']);
  assert.equal(list('extra.list'), ['patient101_frame01', 'patient101_frame02']);

  const train = await E.AcdcDataset.open({ root: out, labeled: { patients: 1 } });
  train.preflight();
  const first = train.getSlice(0);
  const volume = expected('patient099_frame01.image');
  const [, H, W] = volume.shape;
  assert.equal(Array.from(first.image), volume.data.slice(0, H * W), 'slice 1 is the volume\'s first z-plane');
  const test_ = await E.AcdcDataset.open({ root: out, volumeList: 'test.list' });
  test_.preflight();
  assert.equal(Array.from(test_.getVolume('patient001_frame02').label), expected('patient001_frame02.label').data);
});

// The split itself: 100 distinct patients 1–100, 70 / 10 / 20, and the 10 % split's first 7 patients.
test('the standard split covers patients 1–100 once; the labeled splits lead the training order', () => {
  const all = [...E.ACDC_TRAIN_PATIENTS, ...E.ACDC_VAL_PATIENTS, ...E.ACDC_TEST_PATIENTS];
  assert.equal([E.ACDC_TRAIN_PATIENTS.length, E.ACDC_VAL_PATIENTS.length, E.ACDC_TEST_PATIENTS.length], [70, 10, 20]);
  assert.equal([...all].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
  assert.equal(E.ACDC_TRAIN_PATIENTS.slice(0, 7), [99, 38, 50, 100, 58, 21, 49]);
});

// Catches: a release whose files do not fit the layout converted anyway (or half-converted), an
// existing set written over, a failure mid-way leaving a folder under the name the trainers read.
test('prepare-acdc refuses in one line, before writing: a non-empty --out, a third annotated frame, a _gt of another grid, no frames; a bad label mid-way leaves nothing', async () => {
  // Before any writing the refusal is the only line; a frame whose voxels are bad is found when it is
  // converted, after the header line and progress: then it is the last line.
  const refuses = (args: string[], pattern: RegExp, midway = false) => {
    const r = runBench('prepare-acdc', args, quiet);
    assert.is(r.code, 2, r.stderr);
    if (!midway) assert.is(r.lines.length, 1, r.stderr);
    assert.match(r.lines.at(-1)!, pattern);
  };
  refuses(['--nifti', RAW, '--out', join(tmp, 'prepared')], /^prepare-acdc: .*prepared: the folder holds files; prepare the set into a new folder/);
  // The library checks too (the command's early check would hide a library that writes over a set).
  await rejects(() => E.prepareAcdc(E.findAcdcRelease(RAW), join(tmp, 'prepared')), /prepared: the folder holds files/);

  const third = releaseCopy('third-frame');
  const p99 = join(third, 'training', 'patient099');
  cpSync(join(p99, 'patient099_frame01.nii.gz'), join(p99, 'patient099_frame05.nii.gz'));
  cpSync(join(p99, 'patient099_frame01_gt.nii.gz'), join(p99, 'patient099_frame05_gt.nii.gz'));
  refuses(['--nifti', third, '--out', join(tmp, 'out-third')], /patient 99 has 3 annotated frame\(s\) \(1, 5, 11\).*Keep only the ED and ES frames/);

  const grid = releaseCopy('grid');
  cpSync(join(grid, 'training', 'patient002', 'patient002_frame01_gt.nii.gz'), join(grid, 'training', 'patient099', 'patient099_frame11_gt.nii.gz'));
  refuses(['--nifti', grid, '--out', join(tmp, 'out-grid')], /patient099_frame11_gt\.nii\.gz: grid \[2,4,5\] differs from its image's \[3,5,6\]/);

  refuses(['--nifti', join(tmp, 'grid', 'training', 'patient099', 'nothing'), '--out', join(tmp, 'out-none')], /nothing: folder not found/);
  refuses(['--nifti', join(RAW, 'training', 'patient099', 'Info.cfg'), '--out', join(tmp, 'out-none')], /Info\.cfg: not a folder\. Point it at/);
  refuses(['--nifti', join(RAW, 'testing', 'patient102'), '--out', join(tmp, 'out-none')], /no annotated frames found .*; 2 frame file\(s\) without _gt/);

  const label = releaseCopy('bad-label');
  const gtPath = join(label, 'training', 'patient099', 'patient099_frame11_gt.nii.gz');
  const gt = E.readNifti(gtPath);
  const spoiled = Uint8Array.from(gt.data, (v, i) => (i === 7 ? 7 : v));
  writeFileSync(gtPath, gzipSync(E.encodeNiftiLabels(gt.header, spoiled)));
  refuses(['--nifti', label, '--out', join(tmp, 'out-label')], /^prepare-acdc: .*patient099_frame11_gt\.nii\.gz: label value 7 is out of range 0\.\.3/, true);
  for (const n of ['out-third', 'out-grid', 'out-none', 'out-label']) assert.not.ok(existsSync(join(tmp, n)), `${n} not created`);
  assert.not.ok(readdirSync(tmp).some((n) => n.includes('.partial-')), 'no partial folder left');
});

test.run();
