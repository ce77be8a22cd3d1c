// segment end to end (src/train/segment.ts, what the segment command runs) with BCP's golden
// checkpoint on the oblique NIfTI fixture: the labels must be PyTorch's under BCP's test protocol
// (test/golden/bcp_checkpoint.py), written on the input's grid; the same for HDF5 inputs; PNG inputs
// give an indexed PNG of their size; and the CLI refuses bad input in one line with exit code 2.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { runBench, tempDir } from './fixtures.js';

const tmp = tempDir('segment');
const BCP = 'test/golden/bcp_tiny.pth';
const NII = 'test/golden/oblique_tiny.nii.gz';
const GOLDEN = E.loadSafetensors('test/golden/bcp_tiny_expected.safetensors');
const SIZE = Number(GOLDEN.metadata.size);
const [NZ, NY, NX] = GOLDEN.tensors.get('labels')!.shape;
const golden = (name: string) => Array.from(GOLDEN.tensors.get(name)!.data as Int32Array);

/** A test body with BCP's golden UNet, disposed when the body ends. */
const withModel = (body: (model: E.UNet) => Promise<void>) => async () => {
  const model = E.loadUNet(BCP, { onNotice: () => {} });
  try {
    await body(model);
  } finally {
    model.dispose();
  }
};

async function rejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.instance(e, E.DataError, String(e));
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`no error (expected ${pattern})`);
}

/** Positions where two label arrays differ (the first few), for a readable failure. */
function differences(got: ArrayLike<number>, want: ArrayLike<number>): string {
  const bad: number[] = [];
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) bad.push(i);
  return `${bad.length} of ${want.length} differ${bad.length ? ` (first at ${bad.slice(0, 5)})` : ''}`;
}

// Catches: slices cut along the wrong axis, the volume not min-max normalised, a zoom other than
// scipy's order-0 (either way), argmax over the wrong axis, the labels written in another voxel order
// or off the input's grid — any of them changes labels that PyTorch's run fixed (no near-ties:
// the golden's seed keeps every top-two logit gap above 1e-3).
test("NIfTI in → NIfTI out: PyTorch's labels under BCP's protocol, on the input's header, with an overlay", withModel(async (model) => {
  const out = join(tmp, 'nifti');
  const { inputs } = await E.findSegmentInputs(NII);
  assert.equal(inputs, [{ path: NII, name: 'oblique_tiny', format: 'nifti', slices: NZ }]);
  let slices = 0;
  const [r] = await E.segmentFiles(model, inputs, out, { size: SIZE }, (n) => (slices += n));
  assert.is(slices, NZ, 'progress counts every slice');
  assert.is(r.prediction, join(out, 'oblique_tiny.nii.gz'));
  const pred = E.readNifti(r.prediction);
  assert.equal(pred.shape, [NZ, NY, NX]);
  const labels = golden('labels');
  assert.ok(Array.from(pred.data).every((v, i) => v === labels[i]), differences(pred.data, labels));
  assert.equal(r.counts, [0, 1, 2, 3].map((c) => labels.filter((v) => v === c).length));
  const src = E.readNiftiHeader(NII).header.bytes;
  assert.equal(Array.from(pred.header.bytes.subarray(252, 328)), Array.from(src.subarray(252, 328)), 'qform and sform bytes');
  const overlay = PNG.sync.read(readFileSync(r.overlay!));
  assert.ok(overlay.width > 2 * NX && overlay.height > NY, `overlay ${overlay.width}×${overlay.height}`);
}));

// Catches: the filter not applied, applied in 3D instead of per slice, or with 4-connectivity (the
// golden is scipy.ndimage.label with an 8-connected structure, first of equal sizes kept).
test('--largest-component: per slice and class, as scipy keeps it', withModel(async (model) => {
  const out = join(tmp, 'lcc');
  const { inputs } = await E.findSegmentInputs(NII);
  const [r] = await E.segmentFiles(model, inputs, out, { size: SIZE, largestComponent: true, overlay: false });
  assert.is(r.overlay, null);
  assert.not.ok(existsSync(join(out, 'oblique_tiny_overlay.png')));
  const want = golden('labels_lcc');
  assert.not.equal(want, golden('labels'), 'the filter changes this volume');
  const got = E.readNifti(r.prediction).data;
  assert.ok(Array.from(got).every((v, i) => v === want[i]), differences(got, want));
}));

// Catches: HDF5 images normalised again (ACDC's files are normalised already), a 2D slice file
// treated as anything but one slice, `image` not copied unchanged, `label` not uint8 [D, H, W].
test('HDF5 in (ACDC layout, a volume and a 2D slice) → HDF5 out: image copied, label = the golden labels', withModel(async (model) => {
  await E.ensureHdf5Ready();
  const dir = join(tmp, 'h5in');
  mkdirSync(dir);
  const volume = GOLDEN.tensors.get('volume')!.data as Float32Array;
  const plane = NY * NX;
  E.writeHdf5Datasets(join(dir, 'vol.h5'), { image: { shape: [NZ, NY, NX], data: volume } });
  // Slice 0 spans [0.03, 0.94] of the volume's [0, 1]: normalising it again would change it.
  E.writeHdf5Datasets(join(dir, 'slice0.h5'), { image: { shape: [NY, NX], data: volume.slice(0, plane) }, label: { shape: [NY, NX], data: new Uint8Array(plane) } });
  writeFileSync(join(dir, 'notes.txt'), 'not an input');
  const { inputs, skipped } = await E.findSegmentInputs(dir);
  assert.equal(inputs.map((i) => [i.name, i.format, i.slices]), [['slice0', 'hdf5', 1], ['vol', 'hdf5', NZ]]);
  assert.equal(Array.from(E.loadSegmentInput(inputs[0]).volume.image), Array.from(volume.slice(0, plane)), 'the network sees the stored values');
  assert.equal(skipped, [join(dir, 'notes.txt')]);
  const out = join(tmp, 'h5out');
  await E.segmentFiles(model, inputs, out, { size: SIZE });
  const labels = golden('labels');
  const vol = E.readHdf5Datasets(join(out, 'vol.h5'), ['image', 'label']);
  assert.equal(vol.label.shape, [NZ, NY, NX]);
  assert.instance(vol.label.data, Uint8Array);
  assert.ok(Array.from(vol.label.data).every((v, i) => v === labels[i]), differences(vol.label.data, labels));
  assert.equal(Array.from(vol.image.data), Array.from(volume), 'image copied unchanged');
  const slice = E.readAcdcSlice(join(out, 'slice0.h5'));
  const want = labels.slice(0, plane);
  assert.ok(Array.from(slice.label).every((v, i) => v === want[i]), differences(slice.label, want));
}));

// Catches: the indexed PNG written transposed or at the network's size, classes not recoverable from
// the palette, and --channel ignored (green and gray differ on this colour image).
test('PNG in → indexed PNG out of the same size; the channel option picks what the network sees', withModel(async (model) => {
  const [w, h] = [NX, NY];
  const rgb = new Uint8Array(w * h * 3);
  const volume = GOLDEN.tensors.get('volume')!.data as Float32Array;
  for (let i = 0; i < w * h; i++) rgb.set([200 - Math.round(150 * volume[i]), Math.round(255 * volume[i]), 30], 3 * i);
  const dir = join(tmp, 'pngin');
  E.writePng(join(dir, 'photo.png'), { width: w, height: h, channels: 3, data: rgb });
  const { inputs } = await E.findSegmentInputs(join(dir, 'photo.png'));
  const green = E.loadSegmentInput(inputs[0], 'green').volume.image;
  const gray = E.loadSegmentInput(inputs[0], 'gray').volume.image;
  assert.is(green[5], Math.fround(rgb[3 * 5 + 1] / 255));
  assert.ok(Math.abs(gray[5] - (0.299 * rgb[15] + 0.587 * rgb[16] + 0.114 * rgb[17]) / 255) < 1e-6);
  const out = join(tmp, 'pngout');
  const [r] = await E.segmentFiles(model, inputs, out, { size: SIZE, channel: 'green' });
  assert.is(r.prediction, join(out, 'photo.png'));
  const png = PNG.sync.read(readFileSync(r.prediction));
  assert.equal([png.width, png.height], [w, h]);
  const palette = E.labelFilePalette(4).map((c) => c.join());
  const decoded = Array.from({ length: w * h }, (_, i) => palette.indexOf(Array.from(png.data.subarray(4 * i, 4 * i + 3)).join()));
  const direct = await E.segmentVolume(model, { image: green, depth: 1, height: h, width: w }, { size: SIZE });
  assert.equal(decoded, Array.from(direct));
  assert.ok(new Set(decoded).size > 1, 'more than one class in the picture');
}));

// Catches: validation that waits until the network ran (or never happens), outputs that overwrite
// inputs, two inputs silently writing one file.
test('inputs and outputs are checked before any work: one DataError each', async () => {
  await rejects(() => E.findSegmentInputs(join(tmp, 'absent.nii.gz')), /absent\.nii\.gz: not found/);
  await rejects(() => E.findSegmentInputs('README.md'), /README\.md: unrecognised format/);
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  await rejects(() => E.findSegmentInputs(empty), /holds no \.nii/);
  const noImage = join(tmp, 'noimage.h5');
  await E.ensureHdf5Ready();
  E.writeHdf5Datasets(noImage, { label: { shape: [2, 2], data: new Uint8Array(4) } });
  await rejects(() => E.findSegmentInputs(noImage), /noimage\.h5: has no dataset 'image'/);
  const { inputs } = await E.findSegmentInputs(NII);
  assert.throws(() => E.planSegmentOutputs(inputs, 'test/golden'), /would overwrite an input/);
  const twin = { ...inputs[0], path: join(tmp, 'oblique_tiny.h5'), format: 'hdf5' as const };
  assert.throws(() => E.planSegmentOutputs([inputs[0], twin], join(tmp, 'x')), /writes .*oblique_tiny_overlay\.png, as test\/golden\/oblique_tiny\.nii\.gz does/);
});

// The command is thin, but its contract is: user errors → one line on stderr, exit code 2, before the
// GPU (each spawn loads the engine: a few seconds on the CPU adapter, so only three error cases here).
test('bench/segment.js: exit code 2 and one line for user errors, nothing written; a run writes the prediction', () => {
  const never = join(tmp, 'never');
  const errors: [string[], RegExp][] = [
    [['--checkpoint', 'test/golden/stylegan2_tiny.safetensors', '--input', NII, '--out', never], /^segment: test\/golden\/stylegan2_tiny\.safetensors holds StyleGAN2 networks/],
    [['--checkpoint', BCP, '--input', NII, '--out', never, '--classes', '2'], /^segment: --classes 2: test\/golden\/bcp_tiny\.pth is a UNet with 4 classes; drop --classes/],
    [['--checkpoint', BCP, '--input', NII, '--out', 'test/golden'], /^segment: test\/golden\/oblique_tiny\.nii\.gz: its output .* would overwrite an input/],
  ];
  for (const [args, pattern] of errors) {
    const r = runBench('segment', args, { SRASEG_DEBUG: '' });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.lines.length, 1, r.stderr);
    assert.match(r.lines[0], pattern);
  }
  assert.not.ok(existsSync(never));
  const out = join(tmp, 'cli');
  const ok = runBench('segment', ['--checkpoint', BCP, '--input', NII, '--out', out, '--size', String(SIZE)]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /oblique_tiny\.nii\.gz → .*oblique_tiny\.nii\.gz/);
  assert.match(ok.stderr, /bcp_tiny\.pth: weights from 'net'; 'opt' \(optimiser state\) ignored; BCP's auxiliary heads skipped/, 'the notice');
  const labels = golden('labels');
  assert.ok(Array.from(E.readNifti(join(out, 'oblique_tiny.nii.gz')).data).every((v, i) => v === labels[i]));
});

test.run();
