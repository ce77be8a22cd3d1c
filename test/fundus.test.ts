// Fundus vessel segmentation: image decoding (PNG/TIFF/GIF fixtures written here with the same
// libraries), filtered resizing against float64 references, the DRIVE and FIVES loaders and their
// split, one real DRIVE image when ../shared/data/DRIVE exists, FOV handling in the metrics, and a
// two-iteration train + evaluate smoke on tiny fixtures.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { assertClose, quiet, rng } from './helpers.js';
import { fakeFundus, gifBytes, grayRgba, pngBytes, tiffBytes, writeDriveFixture } from './fundus-fixtures.js';
import { tempDir } from './fixtures.js';

// ---- decoding ------------------------------------------------------------------------------------

test('PNG, TIFF and GIF decode to the pixels written; green and gray channels; binary masks', () => {
  const [h, w] = [7, 5];
  const f = fakeFundus(h, w, 3);
  for (const [what, bytes] of [['png', pngBytes(f.rgba, w, h)], ['tiff', tiffBytes(f.rgba, w, h)]] as const) {
    const img = E.decodeImageBytes(bytes, what);
    assert.equal([img.width, img.height], [w, h], what);
    assert.equal(Array.from(img.rgba), Array.from(f.rgba), `${what} pixels`);
    const green = E.intensity(img, 'green');
    const gray = E.intensity(img, 'gray');
    for (let i = 0; i < h * w; i++) {
      const [r, g, b] = f.rgba.subarray(4 * i, 4 * i + 3);
      assert.ok(Math.abs(green[i] - g / 255) < 1e-7, `${what} green ${i}`); // f32 rounding of g/255
      assert.ok(Math.abs(gray[i] - (0.299 * r + 0.587 * g + 0.114 * b) / 255) < 1e-6, `${what} gray ${i}`);
    }
  }
  const gif = E.decodeImageBytes(gifBytes(f.vessel, w, h), 'gif');
  assert.equal(Array.from(E.binaryMask(gif)), Array.from(f.vessel), 'GIF mask');
  assert.throws(() => E.decodeImageBytes(new Uint8Array([1, 2, 3, 4, 5]), 'junk.bin'), /junk\.bin: not a PNG, TIFF or GIF/);
});

// ---- resizing ------------------------------------------------------------------------------------

/** Float64 area average by exact overlap of output and input pixel squares. */
function areaReference(src: Float64Array, h: number, w: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  const overlap = (a0: number, a1: number, b0: number, b1: number) => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
  const [sy, sx] = [h / oh, w / ow];
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) s += overlap(y * sy, (y + 1) * sy, i, i + 1) * overlap(x * sx, (x + 1) * sx, j, j + 1) * src[i * w + j];
      out[y * ow + x] = s / (sy * sx);
    }
  }
  return out;
}

/** Float64 bilinear, align_corners = False with edge clamping (torch's formula). */
function bilinearReference(src: Float64Array, h: number, w: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  const coord = (k: number, n: number, on: number) => Math.min(Math.max((k + 0.5) * (n / on) - 0.5, 0), n - 1);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [cy, cx] = [coord(y, h, oh), coord(x, w, ow)];
      const [y0, x0] = [Math.floor(cy), Math.floor(cx)];
      const [y1, x1] = [Math.min(y0 + 1, h - 1), Math.min(x0 + 1, w - 1)];
      const [fy, fx] = [cy - y0, cx - x0];
      const at = (i: number, j: number) => src[i * w + j];
      out[y * ow + x] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
    }
  }
  return out;
}

test('resizeFiltered: area average when shrinking, bilinear when enlarging (float64 references)', () => {
  const r = rng(9);
  const [h, w] = [23, 17];
  const src = Float64Array.from({ length: h * w }, () => r());
  // f32 output of a float64 computation: |error| ≤ 1e-6 on values in [0, 1].
  assertClose(E.resizeFiltered(src, h, w, 9, 7), areaReference(src, h, w, 9, 7), 0, 1e-6, 'shrink non-integer');
  assertClose(E.resizeFiltered(src, h, w, 23, 1), areaReference(src, h, w, 23, 1), 0, 1e-6, 'width to 1');
  assertClose(E.resizeFiltered(src, h, w, 40, 31), bilinearReference(src, h, w, 40, 31), 0, 1e-6, 'enlarge');
  assertClose(E.resizeFiltered(src, h, w, h, w), src, 0, 1e-7, 'identity');
  // Shrink one axis and enlarge the other.
  const mixed = E.resizeFiltered(src, h, w, 5, 30);
  const rowsFirst = bilinearReference(areaReference(src, h, w, 5, w), 5, w, 5, 30);
  assertClose(mixed, rowsFirst, 0, 1e-6, 'mixed');
  assertClose(E.resizeFiltered(Float64Array.of(0.25), 1, 1, 3, 2), [0.25, 0.25, 0.25, 0.25, 0.25, 0.25], 0, 0, '1 pixel');
});

// ---- loaders -------------------------------------------------------------------------------------

test('DRIVE layout: numeric order, split (labeled first, validation last), slices resized, native volumes with FOV', () => {
  const root = tempDir('fundus-drive');
  const [h, w] = [29, 37];
  const truth = writeDriveFixture(root, [9, 10, 11, 12, 13, 14, 15], h, w);
  const data = E.FundusDataset.open({ root, labeled: 2, validation: 2, size: 16, channel: 'green' });
  assert.is(data.layout, 'drive');
  assert.equal(data.trainSlices, ['9_training', '10_training', '11_training', '12_training', '13_training']);
  assert.equal(data.labeledIndices, [0, 1]);
  assert.equal(data.unlabeledIndices, [2, 3, 4]);
  assert.equal(data.valVolumes, ['14_training', '15_training']);
  assert.equal(data.classNames, ['background', 'vessel']);
  const capped = E.FundusDataset.open({ root, labeled: 1, validation: 3, unlabeled: 2 });
  assert.equal([capped.trainSlices.length, capped.unlabeledIndices, capped.valVolumes.length], [3, [1, 2], 3]);

  const vol = data.getVolume('14_training');
  const f = truth.get('14_training')!;
  assert.equal([vol.depth, vol.height, vol.width], [1, h, w]);
  assert.equal(Array.from(vol.label), Array.from(f.vessel));
  assert.equal(Array.from(data.getFov('14_training')!), Array.from(f.fov));
  assertClose(vol.image, Array.from({ length: h * w }, (_, i) => f.rgba[4 * i + 1] / 255), 0, 1e-7, 'green channel');

  const s = data.getSlice(1);
  assert.equal([s.name, s.height, s.width, s.image.length, s.label.length], ['10_training', 16, 16, 256, 256]);
  const v10 = data.getVolume('10_training');
  assertClose(s.image, E.resizeFiltered(v10.image, h, w, 16, 16), 0, 0, 'slice = filtered resize of the native image');
  assert.equal(Array.from(s.label), Array.from(E.zoomNearest(v10.label, h, w, 16, 16, 'clamp')), 'label: nearest');
  assert.ok(data.describe().includes('2 labeled, 3 unlabeled, 2 validation'), data.describe());

  assert.throws(() => E.FundusDataset.open({ root, labeled: 6, validation: 2 }), /6 labeled \+ 2 validation images requested, the training part has 7/);
  rmSync(join(root, 'training/mask/12_training_mask.gif'));
  assert.throws(() => E.FundusDataset.open({ root, labeled: 2 }), /12_training_mask\.gif: field-of-view mask not found/);
  assert.throws(() => E.FundusDataset.open({ root: '/tmp', labeled: 1 }), /neither the DRIVE nor the FIVES layout/);
  rmSync(root, { recursive: true });
});

test('FIVES layout: train|test/{Original,Ground truth}/N_X.png, no FOV; evaluation on the test part', () => {
  const root = tempDir('fundus-fives');
  const [h, w] = [12, 10];
  const names = { train: ['1_A', '2_D', '10_N', '3_G'], test: ['201_A'] };
  for (const [part, list] of Object.entries(names)) {
    for (const d of ['Original', 'Ground truth']) mkdirSync(join(root, part, d), { recursive: true });
    list.forEach((n, k) => {
      const f = fakeFundus(h, w, 40 + k);
      writeFileSync(join(root, part, 'Original', `${n}.png`), pngBytes(f.rgba, w, h));
      writeFileSync(join(root, part, 'Ground truth', `${n}.png`), pngBytes(grayRgba(f.vessel), w, h));
    });
  }
  const data = E.FundusDataset.open({ root, labeled: 1, validation: 1, channel: 'gray', size: 8 });
  assert.is(data.layout, 'fives');
  assert.equal([data.trainSlices, data.valVolumes], [['1_A', '2_D', '3_G'], ['10_N']]);
  assert.is(data.getFov('10_N'), null);
  const shuffled = E.FundusDataset.open({ root, labeled: 1, validation: 1, splitSeed: 4 });
  assert.equal([...shuffled.trainSlices, ...shuffled.valVolumes].sort(), ['10_N', '1_A', '2_D', '3_G'], 'a permutation of the same images');
  const onTest = E.FundusDataset.open({ root, labeled: 2, evaluateOn: 'test' });
  assert.equal([onTest.trainSlices.length, onTest.valVolumes], [4, ['201_A']]);
  assert.equal(Array.from(onTest.getVolume('201_A').label), Array.from(fakeFundus(h, w, 40).vessel));
  rmSync(root, { recursive: true });
});

test('a real DRIVE image: 565×584, field of view, vessel fraction, green channel', () => {
  const root = E.findDriveRoot();
  if (!root) {
    console.log('  (skipped: ../shared/data/DRIVE not found; set SRASEG_DRIVE to run it)');
    return;
  }
  const data = E.FundusDataset.open({ root, labeled: 4 });
  assert.equal([data.labeledIndices.length, data.unlabeledIndices.length, data.valVolumes.length], [4, 12, 4]);
  const vol = data.getVolume('21_training');
  assert.equal([vol.height, vol.width], [584, 565]);
  // Values read independently with PIL: 24,658 vessel pixels; RGB (199, 110, 66) at row 292, column 282.
  assert.is(vol.label.reduce((a, b) => a + b, 0), 24658);
  assert.ok(Math.abs(vol.image[292 * 565 + 282] - 110 / 255) < 1e-7);
  const fov = data.getFov('21_training')!;
  const inside = fov.reduce((a, b) => a + b, 0) / fov.length;
  assert.ok(inside > 0.6 && inside < 0.8, `FOV covers ${inside}`); // DRIVE's aperture: ~69% of the frame
  // A few annotated pixels stray outside the aperture (8 in image 21, counted with PIL); evaluation
  // ignores them, as the DRIVE protocol scores FOV pixels only.
  assert.is(vol.label.reduce((n, v, i) => n + (v && !fov[i] ? 1 : 0), 0), 8);
});

// ---- metrics with a field of view -------------------------------------------------------------------

test('scoreVesselImage: prediction cut to the FOV; sensitivity, specificity and AUC over FOV pixels only', () => {
  const [h, w] = [9, 11];
  const r = rng(21);
  const prob = Float64Array.from({ length: h * w }, () => r());
  const label = Uint8Array.from({ length: h * w }, () => +(r() < 0.3));
  const fov = Uint8Array.from({ length: h * w }, (_, i) => +(i % w > 1 && Math.floor(i / w) < 7));
  for (let i = 0; i < label.length; i++) label[i] &= fov[i];
  for (let i = 0; i < label.length; i++) if (!fov[i]) prob[i] = 0.99; // confident garbage outside: must not count
  const vol = { name: 'x', depth: 1, height: h, width: w, image: new Float32Array(h * w), label };
  const r1 = E.scoreVesselImage('x', prob, vol, fov);

  // Float64 reference over FOV pixels.
  let [tp, fp, tn, fn] = [0, 0, 0, 0];
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < prob.length; i++) {
    if (!fov[i]) continue;
    const p = prob[i] >= 0.5;
    if (label[i]) (p ? tp++ : fn++, pos.push(prob[i]));
    else (p ? fp++ : tn++, neg.push(prob[i]));
  }
  let wins = 0;
  for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
  // Exact counts → ratios equal to 1e-12.
  assertClose([r1.pixel.sensitivity!, r1.pixel.specificity!, r1.pixel.auc!], [tp / (tp + fn), tn / (tn + fp), wins / (pos.length * neg.length)], 0, 1e-12, 'pixel metrics');
  assertClose([r1.scores[0].dice!], [(2 * tp) / (2 * tp + fp + fn)], 0, 1e-12, 'Dice inside the FOV');
  assert.equal(r1.scores[0].predVoxels, tp + fp, 'no predicted vessel outside the FOV');
  assert.ok(r1.scores[0].hd95 !== null && r1.scores[0].asd !== null);
  // Without a FOV the pixels outside count: the confident garbage costs specificity.
  const r2 = E.scoreVesselImage('x', prob, vol, null);
  assert.ok(r2.pixel.specificity! < r1.pixel.specificity!);
});

// ---- training smoke ----------------------------------------------------------------------------

test('train-fundus smoke: 2 supervised + 1+1 BCP iterations on fixtures, validated per image with the FOV', async () => {
  const root = tempDir('fundus-train');
  writeDriveFixture(root, [1, 2, 3, 4, 5, 6], 21, 19);
  const data = E.FundusDataset.open({ root, labeled: 2, validation: 2, size: 32 });
  const validate: E.Validator = (model, names) => E.evaluateFundus(model, data, names);
  const common = { lr: 0.01, momentum: 0.9, weightDecay: 1e-4, seed: 3, size: 32, valEvery: 2, logEvery: 1, resume: false, validate };
  const sup = await quiet(() => E.trainSupervised(data, { ...common, iterations: 2, batch: 2, out: `${root}/sup` }));
  assert.ok(sup.bestDice >= 0 && sup.bestDice <= 1, `Dice ${sup.bestDice}`);
  const last = sup.last as E.FundusEvaluation;
  assert.is(last.volumes.length, 2);
  assert.equal(last.report.classes.map((c) => c.name), ['vessel']);
  for (const k of ['sensitivity', 'specificity', 'auc'] as const) assert.ok(last.pixel[k] === null || (last.pixel[k]! >= 0 && last.pixel[k]! <= 1), k);

  const semi = await quiet(() =>
    E.trainSemiSupervised(data, {
      ...common,
      out: `${root}/bcp`,
      method: 'bcp',
      init: sup.bestCheckpoint,
      preIterations: 1,
      selfIterations: 1,
      labeledBatch: 2,
      unlabeledBatch: 2,
      emaAlpha: 0.99,
      teacherMode: 'train',
      largestComponent: false,
      softMix: false,
      softLoss: false,
      blend: 'avgpool3',
      zeroPad: false,
      sa: false,
    }),
  );
  assert.ok(semi.self.last && 'pixel' in semi.self.last, 'self-training validated with the fundus protocol');

  // eval-fundus's pieces: predictions at native size and a Fig. 7 row.
  const model = new E.UNet({ numClasses: 2 });
  E.loadModule(semi.self.bestCheckpoint, model);
  model.eval();
  const seen: number[] = [];
  await E.evaluateFundus(model, data, data.valVolumes, {
    onImage: (vol, pred) => {
      seen.push(pred.length);
      const path = E.writeFundusOverlay(`${root}/eval`, vol, pred, 0.5, 64);
      assert.ok(path.endsWith(`${vol.name}.png`));
    },
  });
  assert.equal(seen, [21 * 19, 21 * 19]);
  model.dispose();
  rmSync(root, { recursive: true });
});

test.run();
