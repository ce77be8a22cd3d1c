// --save-predictions in the evaluation commands, end to end as a user runs them: eval-acdc writes each
// volume's prediction in its input's format (HDF5 in the ACDC layout, or NIfTI on the input's own
// header), eval-fundus each vessel mask as an indexed PNG; the folders that would overwrite inputs or
// overlays are refused before anything starts. The ACDC cases use BCP's golden checkpoint, whose
// labels on this volume PyTorch fixed (test/golden/bcp_checkpoint.py), as the ground truth.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { writeDriveFixture } from './fundus-fixtures.js';
import { runBench, tempDir } from './fixtures.js';

const tmp = tempDir('save-predictions');
const BCP = 'test/golden/bcp_tiny.pth';
const NII = 'test/golden/oblique_tiny.nii.gz';
const GOLDEN = E.loadSafetensors('test/golden/bcp_tiny_expected.safetensors');
const SIZE = String(GOLDEN.metadata.size);
const SHAPE = GOLDEN.tensors.get('labels')!.shape;
const LABELS = Uint8Array.from(GOLDEN.tensors.get('labels')!.data as Int32Array);
const VOLUME = GOLDEN.tensors.get('volume')!.data as Float32Array;

const quiet = { SRASEG_QUIET: '1', SRASEG_DEBUG: '' };

/** The one-line refusal a command gives for a bad --save-predictions, with nothing written. */
function refuses(command: string, args: string[], pattern: RegExp): void {
  const out = join(tmp, 'refused');
  // --out given: were the refusal missing, the run would write beside the checkpoint (test/golden/).
  const r = runBench(command, args.includes('--out') ? args : [...args, '--out', out], quiet);
  assert.not.ok(existsSync(out), 'nothing written');
  assert.is(r.code, 2, r.stderr);
  assert.is(r.lines.length, 1, r.stderr);
  assert.match(r.lines[0], pattern);
}

// Catches: predictions not written, written under another name, `label` in another voxel order or
// type than the input's `image`, `image` not copied as it was.
test('eval-acdc --data: each volume saved as HDF5 in the ACDC layout, label = PyTorch\'s prediction, image copied', async () => {
  const root = join(tmp, 'acdc');
  mkdirSync(join(root, 'data'), { recursive: true });
  await E.ensureHdf5Ready();
  E.writeHdf5Datasets(join(root, 'data', 'case01.h5'), { image: { shape: SHAPE, data: VOLUME }, label: { shape: SHAPE, data: LABELS } });
  writeFileSync(join(root, 'val.list'), 'case01\n');
  refuses('eval-acdc', ['--checkpoint', BCP, '--data', root, '--save-predictions', join(root, 'data')], /^eval-acdc: --save-predictions .*: the input volumes are there and would be overwritten/);

  const saved = join(tmp, 'acdc-pred');
  const r = runBench('eval-acdc', ['--checkpoint', BCP, '--data', root, '--size', SIZE, '--overlays', '0', '--out', join(tmp, 'acdc-eval'), '--save-predictions', saved], quiet);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /predictions in .*acdc-pred/);
  const back = E.readHdf5Datasets(join(saved, 'case01.h5'), ['image', 'label']);
  assert.equal(back.label.shape, SHAPE);
  assert.instance(back.label.data, Uint8Array);
  assert.ok(back.label.data.every((v, i) => v === LABELS[i]), 'the saved labels are PyTorch\'s');
  assert.equal(Array.from(back.image.data), Array.from(VOLUME), 'image copied unchanged');
});

// Catches: the NIfTI prediction written on the normalised grid or another header (it must overlay
// the input in a viewer), labels in another axis order, two inputs of one name silently sharing a file.
test('eval-acdc --nifti: each prediction saved on its input\'s header; an input folder or a shared name is refused', () => {
  const dir = join(tmp, 'nifti');
  mkdirSync(dir);
  const image = join(dir, 'case02.nii.gz');
  copyFileSync(NII, image);
  E.writeNiftiLabels(join(dir, 'case02_gt.nii.gz'), E.readNiftiHeader(NII).header, LABELS);
  refuses('eval-acdc', ['--checkpoint', BCP, '--nifti', image, '--save-predictions', dir], /^eval-acdc: --save-predictions .*nifti: the input volumes are there/);
  const other = join(tmp, 'nifti-other');
  mkdirSync(other);
  copyFileSync(image, join(other, 'case02.nii.gz'));
  copyFileSync(join(dir, 'case02_gt.nii.gz'), join(other, 'case02_gt.nii.gz'));
  refuses('eval-acdc', ['--checkpoint', BCP, '--nifti', `${image},${join(other, 'case02.nii.gz')}`, '--save-predictions', join(tmp, 'x')], /would both be saved as case02/);

  const saved = join(tmp, 'nifti-pred');
  const r = runBench('eval-acdc', ['--checkpoint', BCP, '--nifti', image, '--size', SIZE, '--overlays', '0', '--out', join(tmp, 'nifti-eval'), '--save-predictions', saved], quiet);
  assert.is(r.code, 0, r.stderr);
  const pred = E.readNifti(join(saved, 'case02.nii.gz'));
  assert.equal(pred.shape, SHAPE);
  assert.ok(pred.data.every((v, i) => v === LABELS[i]), 'the saved labels are PyTorch\'s, in file order');
  const source = E.readNiftiHeader(NII).header.bytes;
  assert.equal(Array.from(pred.header.bytes.subarray(252, 328)), Array.from(source.subarray(252, 328)), 'qform and sform bytes of the input');
});

/** A narrow 2-class UNet whose output says "vessel" everywhere (zero last-layer weights, bias 0 / 5). */
async function vesselEverywhere(): Promise<string> {
  const ckpt = join(tmp, 'vessel-everywhere.safetensors');
  if (existsSync(ckpt)) return ckpt;
  const unet = new E.UNet({ numClasses: 2, features: [4, 8, 8, 16, 16], seed: 2 });
  const host = await E.moduleToHost(unet);
  unet.dispose();
  host.set('decoder.out_conv.weight', { ...host.get('decoder.out_conv.weight')!, data: new Float32Array(host.get('decoder.out_conv.weight')!.data.length) });
  host.set('decoder.out_conv.bias', { dtype: 'F32', shape: [2], data: Float32Array.from([0, 5]) });
  E.saveSafetensors(ckpt, host);
  return ckpt;
}

// Catches: masks saved at the network's size instead of the image's, inside the data folder, over the
// overlays (both are <image>.png), or not readable as a white-on-black mask. The checkpoint is a
// narrow 2-class UNet (its widths read from the file) whose output says "vessel" everywhere, so the
// saved mask must be exactly the field of view the fixture drew (vesselMask keeps the FOV only).
test('eval-fundus: each vessel mask saved as an indexed PNG of the image\'s size; folders that would overwrite are refused', async () => {
  const root = join(tmp, 'drive');
  const truth = writeDriveFixture(root, [21, 22, 23, 24, 25], 21, 19);
  const ckpt = await vesselEverywhere();
  const common = ['--checkpoint', ckpt, '--data', root, '--validation', '2', '--size', '32', '--overlays', '0'];
  refuses('eval-fundus', [...common, '--save-predictions', join(root, 'preds')], /^eval-fundus: --save-predictions .*: inside the data folder/);
  refuses('eval-fundus', [...common, '--out', join(tmp, 'same'), '--save-predictions', join(tmp, 'same')], /the overlays are written there under the same names/);
  assert.not.ok(existsSync(join(tmp, 'same')));

  const saved = join(tmp, 'drive-pred');
  const r = runBench('eval-fundus', [...common, '--out', join(tmp, 'drive-eval'), '--save-predictions', saved], quiet);
  assert.is(r.code, 0, r.stderr);
  const images = JSON.parse(readFileSync(join(tmp, 'drive-eval', 'results.json'), 'utf8')).images.map((i: { name: string }) => i.name);
  assert.is(images.length, 2);
  for (const name of images) {
    const bytes = readFileSync(join(saved, `${name}.png`));
    assert.is(bytes[25], 3, 'IHDR colour type 3: indexed');
    const png = PNG.sync.read(bytes);
    assert.equal([png.width, png.height], [19, 21], 'native size');
    const mask = Array.from({ length: 21 * 19 }, (_, i) => (png.data[4 * i] === 255 ? 1 : 0));
    assert.equal(mask, Array.from(truth.get(name)!.fov), `${name}: vessel everywhere in the FOV, white on black`);
  }
});

// Catches: --val-split ignored (all four held-back images scored), the halves swapped, or a split that
// is not train-fundus's (the selection half is what a run with --val-split select validated on:
// src/train/stage.ts and this command share splitValidation); a split asked of the test part refused.
test('eval-fundus --val-split: the report half is the held-back images the selection half left out', async () => {
  const root = join(tmp, 'drive-split');
  writeDriveFixture(root, [21, 22, 23, 24, 25, 26], 17, 15);
  const common = ['--checkpoint', await vesselEverywhere(), '--data', root, '--validation', '4', '--size', '16', '--overlays', '0'];
  const scored = (split: string) => {
    const out = join(tmp, `split-${split}`);
    const r = runBench('eval-fundus', [...common, '--val-split', split, '--out', out], quiet);
    assert.is(r.code, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.is(json.split, split);
    return json.images.map((i: { name: string }) => i.name);
  };
  assert.equal(scored('all'), ['23_training', '24_training', '25_training', '26_training'], 'the last 4 training images are held back');
  assert.equal(scored('select'), ['23_training', '25_training']);
  assert.equal(scored('report'), ['24_training', '26_training']);
  const onTest = ['--checkpoint', common[1], '--data', root, '--evaluate-on', 'test', '--size', '16'];
  refuses('eval-fundus', [...onTest, '--val-split', 'report'], /^eval-fundus: --val-split report halves the held-back validation images; .*drop --val-split$/);
});

test.run();
