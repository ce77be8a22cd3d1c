import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { assertClose } from './helpers.js';

test('Gaussian KDE with Scott bandwidth integrates to 1 and matches a hand-computed value', () => {
  const samples = [0, 1, 2, 4];
  const grid = Array.from({ length: 2001 }, (_, i) => -10 + i * 0.01);
  const d = E.gaussianKde(samples, grid);
  const integral = d.reduce((a, b) => a + b, 0) * 0.01;
  assertClose([integral], [1], 1e-6, 1e-6, 'integral');
  // σ (ddof 1) = 1.7078, h = σ·4^(−1/5) = 1.2940; density at 1 = Σ φ((1 − s)/h) / (4h).
  const h = Math.sqrt(((0 - 1.75) ** 2 + (1 - 1.75) ** 2 + (2 - 1.75) ** 2 + (4 - 1.75) ** 2) / 3) * 4 ** -0.2;
  const want = samples.reduce((a, s) => a + Math.exp(-0.5 * ((1 - s) / h) ** 2), 0) / (4 * h * Math.sqrt(2 * Math.PI));
  assertClose(E.gaussianKde(samples, [1]), [want], 1e-12, 0, 'density at 1');
});

test('correct-pixel features come only from pixels predicted and labelled as the class', async () => {
  const net = new E.UNet({ features: [2, 4, 4, 4, 4], seed: 4 });
  // Force class 2 everywhere: zero weights, bias favouring class 2 in the output conv.
  const bias = new Float32Array(4);
  bias[2] = 5;
  net.loadStateDict(
    new Map([
      ['decoder.out_conv.weight', E.zeros(net.decoder.outConv.weight.shape)],
      ['decoder.out_conv.bias', E.tensor(bias, [4])],
    ]),
    { strict: false },
  );
  const S = 16;
  const labels = new Int32Array(2 * S * S);
  labels.fill(2, 0, 10); // 10 pixels of class 2, the rest background
  const images = new Float32Array(2 * S * S).map((_, i) => (i % 7) / 7);
  const got = await E.correctPixelFeatures(net, images, labels, [2, 1, S, S], 2, 500, new E.SeededRng(1));
  assert.is(got.length, 10);
  assert.is((await E.correctPixelFeatures(net, images, labels, [2, 1, S, S], 2, 4, new E.SeededRng(1))).length, 4);
  assert.is((await E.correctPixelFeatures(net, images, labels, [2, 1, S, S], 1, 500, new E.SeededRng(1))).length, 0);
  net.dispose();
});

test.run();
