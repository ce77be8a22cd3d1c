import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as E from '../src/index.js';
import { tinyReals, tinyStyleGan } from './tiny-runs.js';
import { quiet } from './helpers.js';
import { tempDir } from './fixtures.js';

test('RealImageSet: [−1, 1] images, every image once per epoch, mirror doubles the epoch', async () => {
  const R = 4;
  const pixels = Float32Array.from({ length: 3 * R * R }, (_, i) => Math.floor(i / (R * R)) / 2 - 0.5); // image k is constant k/2 − 0.5
  const set = new E.RealImageSet(pixels, R, ['a', 'b', 'c'], 1);
  const firstValues = async (t: E.Tensor) => {
    const v = await t.data();
    t.dispose();
    return Array.from({ length: t.shape[0] }, (_, k) => v[k * R * R]);
  };
  assert.equal((await firstValues(set.next(3))).sort(), [-0.5, 0, 0.5]);
  const mirrored = new E.RealImageSet(Float32Array.from({ length: R * R }, (_, i) => i % R), R, ['ramp'], 2, true);
  const both = await mirrored.next(2).data();
  const rows = [Array.from(both.subarray(0, R)), Array.from(both.subarray(R * R, R * R + R))].sort((a, b) => a[0] - b[0]);
  assert.equal(rows, [[0, 1, 2, 3], [3, 2, 1, 0]], 'one plain and one x-flipped copy per epoch');
  assert.throws(() => new E.RealImageSet(new Float32Array(5), R, ['x'], 0), /5 values/);
});

const tiny = (out: string, over: Partial<E.StyleGanTrainConfig> = {}) => tinyStyleGan(out, { fdImages: 8, ...over });


const logRows = (dir: string) =>
  readFileSync(`${dir}/log.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>).filter((r) => r.G_loss !== undefined);

test('StyleGAN2 training: all four phases run with finite losses, ADA moves p, FD/KID at snapshots, files written', async () => {
  const weights = tempDir('stylegan-unet');
  const dir = tempDir('stylegan-train');
  const unet = new E.UNet({ numClasses: 4, seed: 1 });
  await E.saveModule(`${weights}/unet.safetensors`, unet);
  unet.dispose();
  const measure = E.ganFeatureNetwork({ unet: `${weights}/unet.safetensors`, unetSize: 32 })!;
  assert.is(measure.features.name, 'FD-UNet-encoder');
  // 20 fakes: two generation chunks of 16 and 4.
  const result = await quiet(() => E.trainStyleGAN(tinyReals(), tiny(dir, { fdImages: 20 }), measure));
  measure.dispose();
  assert.ok(existsSync(`${dir}/G_ema_best.safetensors`), 'the lowest-FD generator is kept');
  for (const s of result.snapshots) assert.ok(Number.isFinite(s.fd) && s.fd! > 0 && Number.isFinite(s.kid), JSON.stringify(s));
  const rows = logRows(dir);
  assert.is(rows.length, 4);
  for (const r of rows) for (const k of ['G_loss', 'D_loss_fake', 'D_loss_real']) assert.ok(Number.isFinite(r[k]), `${k} ${r[k]}`);
  assert.ok(rows.some((r) => Number.isFinite(r.D_r1)), 'lazy R1 ran');
  assert.ok(rows.some((r) => Number.isFinite(r.G_pl)), 'path-length regularisation ran');
  assert.ok(rows.some((r) => r.p !== 0), `ADA adjusted p: ${rows.map((r) => r.p)}`);
  for (const f of ['checkpoint.safetensors', 'G_ema.safetensors', 'reals.png', 'fakes0000.01.png', 'curves.png', 'config.json']) {
    assert.ok(existsSync(`${dir}/${f}`), f);
  }
  assert.equal(result.snapshots.map((s) => s.kimg), [0, 0.008, 0.016], 'the untrained generator, then every 2 minibatches');
  const G = E.loadGenerator(result.G_ema);
  assert.is(G.config.imgResolution, 8);
  G.dispose();
});

test('StyleGAN2 training resumes exactly from its checkpoint', async () => {
  const dir = tempDir('stylegan-resume');
  await quiet(() => E.trainStyleGAN(tinyReals(), tiny(`${dir}/straight`)));
  await quiet(() => E.trainStyleGAN(tinyReals(), tiny(`${dir}/split`, { kimg: 0.008 })));
  await quiet(() => E.trainStyleGAN(tinyReals(), tiny(`${dir}/split`, { resume: true })));
  // Everything but the wall-clock rate and the memory figures (a resumed process holds less) must
  // match: losses, p, R1 and path-length terms.
  const withoutRate = (rows: Record<string, number>[]) => rows.map(({ images_per_s: _, liveBytes: _b, liveBuffers: _n, peakBytes: _p, ...r }) => r);
  assert.equal(withoutRate(logRows(`${dir}/split`)), withoutRate(logRows(`${dir}/straight`)));
});

test('generation: one image per seed, independent of batching, readable as an unlabeled pool', async () => {
  const dir = tempDir('stylegan-gen');
  const G = new E.StyleGAN2Generator({ zDim: 8, wDim: 8, imgResolution: 8, imgChannels: 1, mappingLayers: 2, channelBase: 64, channelMax: 8, convClamp: 256, seed: 1 }).eval();
  const files = await E.generateSlices(G, { seeds: [3, 4, 5], out: `${dir}/a`, batch: 2 });
  await E.generateSlices(G, { seeds: [5], out: `${dir}/b` });
  assert.equal(files.map((f) => f.split('/').pop()), ['seed0003.png', 'seed0004.png', 'seed0005.png']);
  const a = E.readSliceFile(`${dir}/a/seed0005.png`);
  const b = E.readSliceFile(`${dir}/b/seed0005.png`);
  assert.is(a.height, 8);
  assert.equal(Array.from(a.image), Array.from(b.image), 'seed 5 alone = seed 5 in a batch');
  assert.not.equal(Array.from(a.image), Array.from(E.readSliceFile(`${dir}/a/seed0004.png`).image));
  assert.ok(existsSync(`${dir}/a-grid.png`), 'the grid lies beside the folder, not in it');
  assert.equal(readdirSync(`${dir}/a`).sort(), ['seed0003.png', 'seed0004.png', 'seed0005.png']);
  assert.equal(E.parseSeeds('0-2,7'), [0, 1, 2, 7]);
  assert.throws(() => E.parseSeeds('5-2'), /ends before/);
  G.dispose();
});

test('loadGenerator names the problem for a missing or foreign file', () => {
  assert.throws(() => E.loadGenerator('/tmp/does-not-exist.safetensors'), /no such generator file/);
});

test.run();
