import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as E from '../src/index.js';
import { rng } from './helpers.js';

interface GoldenCase {
  name: string;
  shape: number[];
  spacing: number[] | null;
  pred: string;
  gt: string;
  want: { dice: number; jaccard: number; hd95: number; asd: number; asdReverse: number; assd: number; hausdorff: number; surfacePred: number; surfaceGt: number };
}

// Golden values from SciPy (test/golden/metrics_golden.py); masks bit-packed by numpy.packbits.
const golden = JSON.parse(readFileSync('test/golden/metrics.json', 'utf8')) as { cases: GoldenCase[] };

function unpack(b64: string, n: number): Uint8Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

const close = (got: number | null, want: number, tol: number, what: string) =>
  assert.ok(got !== null && Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (tol ${tol})`);

for (const c of golden.cases) {
  test(`golden (SciPy, medpy definitions): ${c.name}`, () => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const pred = unpack(c.pred, n);
    const gt = unpack(c.gt, n);
    const grid = { shape: c.shape, spacing: c.spacing ?? undefined };
    const s = E.scoreBinary(pred, gt, grid);
    // Overlap ratios are exact rationals: 1e-6.  Distances go through sqrt and interpolation: 1e-4.
    close(s.dice, c.want.dice, 1e-6, 'dice');
    close(s.jaccard, c.want.jaccard, 1e-6, 'jaccard');
    close(s.hd95, c.want.hd95, 1e-4, 'hd95');
    close(s.asd, c.want.asd, 1e-4, 'asd (pred → gt)');
    close(s.assd, c.want.assd, 1e-4, 'assd');
    close(s.hd, c.want.hausdorff, 1e-4, 'hd');
    // The single-metric functions agree with scoreBinary; asd is directed, so swapping the arguments differs.
    close(E.asd(gt, pred, grid), c.want.asdReverse, 1e-4, 'asd (gt → pred)');
    close(E.hd95(pred, gt, grid), c.want.hd95, 1e-4, 'hd95 alone');
    close(E.dice(pred, gt), c.want.dice, 1e-6, 'dice alone');
    assert.is(E.surfaceVoxels(pred, grid).reduce((a, b) => a + b, 0), c.want.surfacePred, 'surface voxels of pred');
    assert.is(E.surfaceVoxels(gt, grid).reduce((a, b) => a + b, 0), c.want.surfaceGt, 'surface voxels of gt');
  });
}

test('exact EDT against brute force on a random 3D volume with anisotropic spacing', () => {
  const shape = [5, 7, 6];
  const spacing = [1.7, 0.6, 1.1];
  const r = rng(5);
  const n = 5 * 7 * 6;
  const features = Array.from({ length: n }, () => +(r() < 0.06));
  const d2 = E.squaredDistanceTransform(features, { shape, spacing });
  const coord = (i: number) => [Math.floor(i / 42), Math.floor(i / 6) % 7, i % 6];
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < n; j++) {
      if (!features[j]) continue;
      const a = coord(i);
      const b = coord(j);
      best = Math.min(best, a.reduce((s, x, k) => s + ((x - b[k]) * spacing[k]) ** 2, 0));
    }
    // Sums of a few squared products of O(1) numbers: exact to rounding, 1e-9.
    assert.ok(Math.abs(d2[i] - best) <= 1e-9, `voxel ${i}: ${d2[i]} vs ${best}`);
  }
  assert.ok(E.squaredDistanceTransform([0, 0, 0], { shape: [3] }).every((v) => v === Infinity), 'no features: Infinity');
});

test('percentile matches numpy linear interpolation', () => {
  // numpy.percentile([3, 1, 4, 1, 5], q) for q = 0, 95, 50, 37.5, 100 → 1, 4.8, 3, 2, 5 (exact up to rounding).
  const v = [3, 1, 4, 1, 5];
  for (const [q, want] of [[0, 1], [95, 4.8], [50, 3], [37.5, 2], [100, 5]]) {
    assert.ok(Math.abs(E.percentile(v, q) - want) <= 1e-12, `q=${q}: ${E.percentile(v, q)}`);
  }
});

// A [4, 6, 6] label volume with classes 1..3.
function labelVolume(fill: (z: number, y: number, x: number) => number): Int32Array {
  const out = new Int32Array(4 * 6 * 6);
  for (let z = 0; z < 4; z++) for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) out[(z * 6 + y) * 6 + x] = fill(z, y, x);
  return out;
}

test('empty prediction: literature scores (0,0,0,0), honest leaves distances undefined and counts them', () => {
  const grid = { shape: [4, 6, 6] };
  const gt = labelVolume((z, y, x) => (x < 2 ? 1 : x < 4 ? 2 : y < 3 ? 3 : 0));
  // The prediction misses class 3 entirely and gets class 1, 2 exactly right.
  const pred = labelVolume((z, y, x) => (x < 2 ? 1 : x < 4 ? 2 : 0));
  const scores = E.scoreLabelVolume(pred, gt, grid, 4);
  assert.is(scores.length, 3);
  assert.equal([scores[0].dice, scores[0].hd95, scores[0].asd], [1, 0, 0]);
  assert.equal(
    { dice: scores[2].dice, jaccard: scores[2].jaccard, hd95: scores[2].hd95, asd: scores[2].asd, predVoxels: scores[2].predVoxels },
    { dice: 0, jaccard: 0, hd95: null, asd: null, predVoxels: 0 },
  );
  assert.equal(E.applyConvention(scores[2], 'literature'), { dice: 0, jaccard: 0, hd95: 0, asd: 0, assd: 0 });
  assert.equal(E.applyConvention(scores[2], 'honest'), { dice: 0, jaccard: 0, hd95: null, asd: null, assd: null });
  // Two empty masks: Dice undefined in the honest convention, 0 in the literature's.
  const none = E.scoreBinary([0, 0, 0, 0], [0, 0, 0, 0], { shape: [2, 2] });
  assert.is(none.dice, null);
  assert.is(E.applyConvention(none, 'literature').dice, 0);
  // Empty ground truth with a non-empty prediction: Dice 0, distances undefined under both conventions.
  const spurious = E.scoreBinary([1, 0, 0, 0], [0, 0, 0, 0], { shape: [2, 2] });
  assert.equal([spurious.dice, spurious.hd95, E.applyConvention(spurious, 'literature').hd95], [0, null, null]);
});

test('summarize: mean over volumes then classes, both conventions, empty counts', () => {
  const grid = { shape: [4, 6, 6] };
  const gt = labelVolume((z, y, x) => (x < 2 ? 1 : x < 4 ? 2 : y < 3 ? 3 : 0));
  const perfect = E.scoreLabelVolume(gt, gt, grid, 4);
  const missing3 = E.scoreLabelVolume(labelVolume((z, y, x) => (x < 2 ? 1 : x < 4 ? 2 : 0)), gt, grid, 4);
  // Class 2 shifted by one column in x: a real distance.
  const shifted = E.scoreLabelVolume(labelVolume((z, y, x) => (x < 2 ? 1 : x >= 3 && x < 5 ? 2 : x === 5 && y < 3 ? 3 : 0)), gt, grid, 4);
  const sum = E.summarize([perfect, missing3, shifted], ['RV', 'Myo', 'LV']);
  assert.is(sum.volumes, 3);
  assert.is(sum.emptyPredictions, 1);
  assert.is(sum.undefinedDistances, 1);
  assert.equal(sum.classes.map((c) => c.name), ['RV', 'Myo', 'LV']);
  const lv = sum.classes[2];
  assert.is(lv.emptyPredictions, 1);
  const lvShifted = shifted[2];
  // Literature: the missed volume contributes 0 to every mean. Honest: it is left out of the distances.
  const tol = 1e-12; // plain float64 means of a few numbers
  const near = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
  near(lv.literature.dice, (1 + 0 + (lvShifted.dice ?? NaN)) / 3, 'LV literature dice');
  near(lv.literature.hd95, (0 + 0 + (lvShifted.hd95 ?? NaN)) / 3, 'LV literature hd95');
  near(lv.honest.hd95, (0 + (lvShifted.hd95 ?? NaN)) / 2, 'LV honest hd95');
  near(lv.honest.dice, (1 + 0 + (lvShifted.dice ?? NaN)) / 3, 'LV honest dice');
  const classMean = (f: (c: E.ClassSummary) => number | null) => sum.classes.reduce((a, c) => a + (f(c) ?? NaN), 0) / 3;
  near(sum.literature.dice, classMean((c) => c.literature.dice), 'overall literature dice');
  near(sum.honest.asd, classMean((c) => c.honest.asd), 'overall honest asd');
  assert.ok((sum.honest.hd95 ?? 0) > (sum.literature.hd95 ?? 0), 'the literature convention flatters HD95');
});

test('scorePerImage scores each 2D slice on its own', () => {
  const gt = labelVolume((z, y, x) => (x < 2 ? 1 : x < 4 ? 2 : y < 3 ? 3 : 0));
  const pred = labelVolume((z, y, x) => (z === 1 ? 0 : x < 2 ? 1 : x < 4 ? 2 : y < 3 ? 3 : 0));
  const per = E.scorePerImage(pred, gt, [4, 6, 6], 4);
  assert.is(per.length, 4);
  assert.equal(per.map((img) => img[0].dice), [1, 0, 1, 1]);
  const slice0 = E.scoreBinary(Array.from(gt.subarray(0, 36), (v) => +(v === 3)), Array.from(gt.subarray(0, 36), (v) => +(v === 3)), { shape: [6, 6] });
  assert.equal(per[0][2], slice0);
  assert.throws(() => E.scorePerImage(pred, gt, [4, 2, 6, 6], 4), /neither/);
});

function bruteAuc(score: number[], truth: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < score.length; i++) {
    if (!truth[i]) continue;
    for (let j = 0; j < score.length; j++) {
      if (truth[j]) continue;
      pairs++;
      wins += score[i] > score[j] ? 1 : score[i] === score[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test('rocAuc equals the pairwise definition, ties counting one half, with a field of view', () => {
  const r = rng(11);
  const n = 300;
  // Scores on a coarse grid so that ties are frequent; positives drawn more often at high scores.
  const score = Array.from({ length: n }, () => Math.round(r() * 20) / 20);
  const truth = score.map((s) => +(r() < 0.2 + 0.6 * s));
  const fov = Array.from({ length: n }, () => +(r() < 0.7));
  const tol = 1e-12; // both are ratios of integer counts
  assert.ok(Math.abs((E.rocAuc(score, truth) ?? NaN) - bruteAuc(score, truth)) <= tol, 'auc without fov');
  const inside = (a: number[]) => a.filter((_, i) => fov[i]);
  assert.ok(Math.abs((E.rocAuc(score, truth, fov) ?? NaN) - bruteAuc(inside(score), inside(truth))) <= tol, 'auc with fov');
  assert.is(E.rocAuc([0.1, 0.2], [1, 1]), null);
  assert.is(E.rocAuc([0.1, 0.9, 0.5], [0, 1, 0]), 1);
});

test('pixelScores: sensitivity, specificity, accuracy, F1 from counts, inside the field of view', () => {
  const prob = [0.9, 0.6, 0.4, 0.1, 0.7, 0.2, 0.8, 0.3];
  const truth = [1, 1, 1, 0, 0, 0, 1, 1];
  const fov = [1, 1, 1, 1, 1, 1, 0, 0]; // the last two pixels are outside the aperture
  assert.equal(E.confusionCounts(prob, truth, { fov }), { tp: 2, fp: 1, tn: 2, fn: 1 });
  const s = E.pixelScores(prob, truth, { fov });
  assert.equal([s.sensitivity, s.specificity, s.accuracy, s.f1], [2 / 3, 2 / 3, 4 / 6, 4 / 6]);
  assert.is(s.auc, bruteAuc(prob.slice(0, 6), truth.slice(0, 6)));
});

test('metrics name the problem on bad input', () => {
  assert.throws(() => E.scoreBinary([1, 0], [1, 0, 0], { shape: [2] }), /scoreBinary.*length 3/);
  assert.throws(() => E.hd95([0, 0], [1, 0], { shape: [2] }), /empty/);
  assert.throws(() => E.scoreBinary([1, 0], [1, 0], { shape: [2], spacing: [1, 1] }), /spacing/);
});

test.run();
