import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import * as E from '../src/index.js';
import { rng } from './helpers.js';

// pngjs (an independent decoder) ships no types; declare the little used here.
interface DecodedPng {
  width: number;
  height: number;
  data: Uint8Array; // RGBA
}
const { PNG } = createRequire(import.meta.url)('pngjs') as { PNG: { sync: { read(buf: Buffer): DecodedPng } } };
const decode = (bytes: Uint8Array) => PNG.sync.read(Buffer.from(bytes));

function randomImage(width: number, height: number, channels: 1 | 3 | 4, seed: number): E.Image {
  const r = rng(seed);
  return { width, height, channels, data: Uint8Array.from({ length: width * height * channels }, () => Math.floor(r() * 256)) };
}

for (const channels of [1, 3, 4] as const) {
  test(`PNG round trip through pngjs: ${channels} channel(s), odd size 37×5`, () => {
    const img = randomImage(37, 5, channels, channels);
    const png = decode(E.encodePng(img));
    assert.equal([png.width, png.height], [37, 5]);
    for (let p = 0; p < 37 * 5; p++) {
      const want = channels === 1 ? [img.data[p], img.data[p], img.data[p], 255] : channels === 3 ? [...img.data.subarray(3 * p, 3 * p + 3), 255] : [...img.data.subarray(4 * p, 4 * p + 4)];
      assert.equal([...png.data.subarray(4 * p, 4 * p + 4)], want, `pixel ${p}`);
    }
  });
}

test('toImage maps a float range to 0..255, planar or interleaved, clamping outside', () => {
  const gray = E.toImage(Float32Array.from([-1, 0, 1, 3]), 2, 2, { range: [-1, 1] });
  assert.equal([...gray.data], [0, 128, 255, 255]); // 127.5 rounds to 128
  const rgb = E.toImage([0, 1, 2, 3, 4, 5], 2, 1, { channels: 3, planar: true, range: [0, 5] });
  assert.equal([...rgb.data], [0, 102, 204, 51, 153, 255]); // planar R=[0,1] G=[2,3] B=[4,5]
  assert.throws(() => E.toImage([1, 2, 3], 2, 2), /toImage/);
});

test('segmentation overlay: four panels, class colours, errors in red, Dice box in the corner', () => {
  const w = 40;
  const h = 30;
  const image = Float32Array.from({ length: w * h }, (_, i) => (i % w) / (w - 1)); // a ramp 0..1
  const gt = new Int32Array(w * h);
  const pred = new Int32Array(w * h);
  for (let y = 10; y < 20; y++) for (let x = 10; x < 30; x++) gt[y * w + x] = pred[y * w + x] = 3; // LV
  pred[25 * w + 35] = 1; // one false RV pixel
  const scale = 2;
  const { canvas, panels } = E.segmentationOverlay({ image, width: w, height: h, prediction: pred, groundTruth: gt, dice: 0.8762, scale, range: [0, 1] });
  assert.is(panels.length, 4);
  for (const p of panels) assert.equal([p.width, p.height], [w * scale, h * scale]);
  assert.ok(canvas.width >= 4 * w * scale && canvas.height >= h * scale, 'canvas holds the panels');
  const at = (k: number, x: number, y: number) => canvas.get(panels[k].x + x * scale + 1, panels[k].y + y * scale + 1);
  const grayAt = (x: number) => Math.round((255 * x) / (w - 1));
  // Image panel: the ramp in gray.
  assert.equal(at(0, 20, 25), [grayAt(20), grayAt(20), grayAt(20)]);
  // Prediction and truth: LV colour mixed half and half with the gray value (rounding: ±1).
  const mix = (g: number, c: readonly number[]) => c.map((v) => Math.round(g * 0.5 + v * 0.5));
  for (const k of [1, 2]) {
    const got = at(k, 15, 15);
    mix(grayAt(15), E.ACDC_PALETTE[3]).forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1, `panel ${k}: ${got} vs ${v}`));
  }
  // The false RV pixel: RV tint in the prediction, plain gray in the truth, red in the error panel.
  assert.equal(at(3, 35, 25), [...E.ERROR_COLOUR]);
  assert.equal(at(2, 35, 25), [grayAt(35), grayAt(35), grayAt(35)]);
  assert.equal(at(3, 15, 15), [grayAt(15), grayAt(15), grayAt(15)], 'correct pixels stay gray');
  // The Dice label sits on a black box with white text in the prediction panel's top-left corner.
  const corner = canvas.get(panels[1].x, panels[1].y);
  assert.equal(corner, [0, 0, 0]);
  let white = 0;
  for (let y = 0; y < E.textHeight(scale) + 6; y++) for (let x = 0; x < E.textWidth('DICE 87.62%', scale) + 6; x++) white += +(canvas.get(panels[1].x + x, panels[1].y + y).join() === '255,255,255');
  assert.ok(white > 160, `text pixels in the Dice box: ${white}`);
  assert.ok(decode(E.encodePng(canvas)).width === canvas.width, 'encodes');
});

test('line plot: a valid PNG of the requested size, lines in the series colours', () => {
  const iters = Array.from({ length: 60 }, (_, i) => i * 200);
  const loss = iters.map((t) => 1.2 * Math.exp(-t / 3000) + 0.05);
  const dice = iters.map((t) => 0.88 * (1 - Math.exp(-t / 2000)));
  const canvas = E.linePlot(
    [
      { title: 'Training loss', xLabel: 'iteration', yLabel: 'loss', series: [{ name: 'loss', x: iters, y: loss }] },
      { title: 'Validation', xLabel: 'iteration', yLabel: 'Dice', yRange: [0, 1], series: [{ name: 'Dice', x: iters, y: dice, colour: [213, 94, 0] }] },
    ],
    { panelWidth: 360, panelHeight: 240 },
  );
  const png = decode(E.encodePng(canvas));
  assert.equal([png.width, png.height], [720, 240]);
  const count = (c: readonly number[]) => {
    let n = 0;
    for (let i = 0; i < png.data.length; i += 4) n += +(png.data[i] === c[0] && png.data[i + 1] === c[1] && png.data[i + 2] === c[2]);
    return n;
  };
  assert.ok(count(E.SERIES_COLOURS[0]) > 200, 'loss line drawn');
  assert.ok(count([213, 94, 0]) > 200, 'Dice line drawn');
});

test('niceAxis picks 1/2/5 steps and covers the data', () => {
  const a = E.niceAxis([0.013, 0.87]);
  assert.equal([a.lo, a.hi, a.decimals], [0, 1, 1]);
  assert.equal(a.ticks.map((t) => +t.toFixed(6)), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const b = E.niceAxis([0, 11800]);
  assert.equal(b.ticks, [0, 2000, 4000, 6000, 8000, 10000, 12000]);
  assert.equal(E.niceAxis([5, 5]).ticks.length > 1, true);
});

// Catches: a log axis not widened to whole decades, no ticks between decades over a short range,
// values placed linearly on it (10 would sit near 1, not half-way to 100), a non-positive value
// drawn or thrown instead of breaking the line.
test('logAxis: decades, 2× and 5× ticks over short ranges; a yLog panel places values by their logarithm', () => {
  const fd = E.logAxis([1.78, 214]);
  assert.equal([fd.lo, fd.hi, fd.ticks, fd.decimals], [1, 1000, [1, 10, 100, 1000], 0]);
  const small = E.logAxis([0.02, 0.3]);
  assert.equal([small.lo, small.hi, small.decimals], [0.01, 1, 2]);
  assert.equal(small.ticks, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
  assert.throws(() => E.logAxis([0, 1]), /not positive/);

  const colour: [number, number, number] = [0, 114, 178];
  const canvas = E.linePlot([{ yLog: true, series: [{ name: 'fd', x: [0, 1, 2, 3], y: [1, 10, 100, 0], colour }] }], { markers: true, panelWidth: 300, panelHeight: 200 });
  // Each marker is a 5×5 square: the rows holding the series colour in a marker's column, averaged.
  const markerY = (column: number) => {
    const rows: number[] = [];
    for (let y = 0; y < canvas.height; y++) if (String(canvas.get(column, y)) === String(colour)) rows.push(y);
    return rows.reduce((a, b) => a + b, 0) / rows.length;
  };
  // The plot area spans x = 58 .. 300 − 12; x values 0..3 map onto it (markers sit on the columns).
  const column = (x: number) => Math.round(58 + (x / 3) * (300 - 58 - 12 - 1));
  const [y1, y10, y100] = [0, 1, 2].map((x) => markerY(column(x)));
  assert.ok(y1 > y10 && y10 > y100, `larger values higher: ${y1}, ${y10}, ${y100}`);
  assert.ok(Math.abs(y10 - (y1 + y100) / 2) <= 1, `10 half-way between 1 and 100 on a log axis: ${y1}, ${y10}, ${y100}`);
});

test('image grid: cells laid out row by row; NCHW batches split into images', () => {
  const batch = Float32Array.from({ length: 5 * 1 * 3 * 4 }, (_, i) => Math.floor(i / 12) / 4); // image k is uniform k/4
  const images = E.imagesFromNchw(batch, [5, 1, 3, 4], [0, 1]);
  assert.is(images.length, 5);
  const grid = E.imageGrid(images, { columns: 3, gap: 1 });
  assert.equal([grid.width, grid.height], [3 * (4 + 1) + 1, 2 * (3 + 1) + 1]);
  assert.equal(grid.get(1 + 1 * 5, 1), [64, 64, 64], 'image 1 at column 1');
  assert.equal(grid.get(1 + 1 * 5, 1 + 4), [255, 255, 255], 'image 4 at row 1, column 1');
  assert.equal(grid.get(0, 0), [255, 255, 255], 'gap in the background colour');
  assert.throws(() => E.imagesFromNchw(batch, [5, 2, 3, 2]), /C = 1 or 3/);
});

test.run();
