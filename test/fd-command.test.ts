// bench/fd.js end to end on a few tiny slices: the command embeds with the library's embedAll and
// must report the FD/KID of the features computed here directly — reals area-resampled to the
// synthetic resolution, images in [0, 1] given to the feature network, statistics in float64.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { runBench, tempDir } from './fixtures.js';

const dir = tempDir('fd');

/** A grey PNG with a bright disc whose radius and centre vary with `k`. */
function slice(size: number, k: number): Uint8Array {
  const data = new Uint8Array(size * size);
  const r = size * (0.15 + 0.05 * k);
  const c = size * (0.4 + 0.04 * k);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = (x - c) ** 2 + (y - c) ** 2 < r * r ? 220 : 30 + ((x * 3 + y * 5 + k * 7) % 40);
  return E.encodePng({ width: size, height: size, channels: 1, data });
}

test('fd: the printed FD/KID are those of the features computed directly (catches: images given in [-1, 1] or unresampled, real and synthetic swapped, a private embedding)', async () => {
  const real = join(dir, 'real');
  const syn = join(dir, 'syn');
  mkdirSync(real);
  mkdirSync(syn);
  for (let k = 0; k < 5; k++) writeFileSync(join(real, `r${k}.png`), slice(32, k));
  for (let k = 0; k < 5; k++) writeFileSync(join(syn, `seed000${k}.png`), slice(16, 4 - k * 0.7));
  // A random UNet's pooled bottleneck hardly depends on the image (biases dominate); the first conv of
  // every block scaled ×10 makes the features differ by ~20 % between images, so FD is not ~0.
  const ckpt = join(dir, 'unet.safetensors');
  const unet = new E.UNet({ numClasses: 4, seed: 5 });
  const host = await E.moduleToHost(unet);
  unet.dispose();
  for (const [name, t] of host) if (/conv_conv\.0\.weight$/.test(name)) (t.data as Float32Array).forEach((v, i, a) => (a[i] = 10 * v));
  E.saveSafetensors(ckpt, host);

  const r = runBench('fd', ['--real', real, '--synthetic', syn, '--unet', ckpt, '--size', '32', '--batch', '2', '--subsets', '3', '--subset-size', '4', '--json'], { SRASEG_QUIET: '1' });
  assert.is(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.is(got.metric, 'FD-UNet-encoder');
  assert.equal([got.real, got.synthetic, got.resolution, got.dims], [5, 5, 16, 256]);

  // Independently: read, resample the reals to 16², embed [0, 1] images, float64 statistics.
  await E.ensureHdf5Ready();
  const load = (folder: string, files: string[]) => files.map((f) => E.readSliceFile(join(folder, f)));
  const reals = load(real, ['r0.png', 'r1.png', 'r2.png', 'r3.png', 'r4.png']);
  const syns = load(syn, [0, 1, 2, 3, 4].map((k) => `seed000${k}.png`));
  const net = E.ganFeatureNetwork({ unet: ckpt, unetSize: 32 })!;
  const features = async (slices: E.SliceSample[]) => {
    const pixels = new Float32Array(slices.length * 256);
    slices.forEach((s, b) => pixels.set(E.resizeFiltered(s.image, s.height, s.width, 16, 16), b * 256));
    const f = E.noGrad(() => E.tidy(() => net.features.embed(E.tensor(pixels, [slices.length, 1, 16, 16]))));
    const v = await f.data();
    f.dispose();
    return slices.map((_, b) => Float64Array.from(v.subarray(b * 256, (b + 1) * 256)));
  };
  const fr = await features(reals);
  const fs = await features(syns);
  net.dispose();
  const [sr, ss] = [E.featureStats(fr), E.featureStats(fs)];
  const fd = E.frechetDistance(ss.mu, ss.sigma, sr.mu, sr.sigma);
  const kid = E.kid(fs, fr, { subsets: 3, subsetSize: 4 });
  assert.ok(fd > 1e-2, `the two sets differ (FD ${fd})`);
  // f32 features through a [−1, 1] round trip; FD's matrix square root of rank-4 covariances: 1e-3.
  assert.ok(Math.abs(got.fd - fd) <= 1e-3 * fd, `FD ${got.fd} vs ${fd}`);
  assert.ok(Math.abs(got.kid - kid) <= 1e-3 * Math.abs(kid) + 1e-9, `KID ${got.kid} vs ${kid}`);
});

test.run();
