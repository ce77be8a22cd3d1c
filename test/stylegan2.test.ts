import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { assertClose, randArray, read } from './helpers.js';

// Fixture from test/golden/generate_stylegan2.py (PyTorch 1.13): resolution 16, 1 image channel,
// channel_base 128 / channel_max 16 (16, 16, 8 channels at 4, 8, 16), z_dim = w_dim = 32, 2 mapping
// layers, conv_clamp 2, noise 'const'; weights under 'G.' and 'D.' with the published names.
const GOLDEN = E.loadSafetensors('test/golden/stylegan2_tiny.safetensors').tensors;
const golden = (name: string) => {
  const t = GOLDEN.get(`io.${name}`);
  if (!t) throw new Error(`golden file has no io.${name}`);
  return Float64Array.from(t.data as Float32Array);
};
const upload = (name: string) => E.fromHost(GOLDEN.get(`io.${name}`)!, name);

const G_CONFIG: E.GeneratorConfig = {
  zDim: 32,
  wDim: 32,
  imgResolution: 16,
  imgChannels: 1,
  mappingLayers: 2,
  channelBase: 128,
  channelMax: 16,
  convClamp: 2,
  seed: 1,
};
const D_CONFIG: E.DiscriminatorConfig = {
  imgResolution: 16,
  imgChannels: 1,
  channelBase: 128,
  channelMax: 16,
  mbstdGroupSize: 4,
  mbstdChannels: 1,
  convClamp: 2,
  seed: 2,
};

function goldenG(): E.StyleGAN2Generator {
  const g = new E.StyleGAN2Generator(G_CONFIG).eval();
  E.loadModuleFromHost(g, GOLDEN, 'G.', true); // strict: every published name, nothing else
  return g;
}

function goldenD(): E.Discriminator {
  const d = new E.Discriminator(D_CONFIG);
  E.loadModuleFromHost(d, GOLDEN, 'D.', true);
  return d;
}

/** The largest |value|: gradients are compared with an absolute tolerance relative to it. */
const scale = (v: ArrayLike<number>) => Math.max(...Array.from(v, Math.abs));

test('channels per resolution, number of ws and state-dict names follow the published networks', () => {
  assert.equal([4, 8, 16, 32, 64, 128, 256].map((r) => E.stylegan2Channels(r, 32768, 512)), [512, 512, 512, 512, 512, 256, 128]);
  assert.is(E.stylegan2Channels(16, 128, 16), 8);
  const g = new E.StyleGAN2Generator({ ...G_CONFIG, imgResolution: 64 });
  assert.is(g.numWs, 10); // b4's conv, 2 convs in each of b8…b64, and the last ToRGB
  const names = [...g.stateDict().keys()];
  for (const n of ['mapping.fc0.weight', 'mapping.fc1.bias', 'mapping.w_avg', 'synthesis.b4.const', 'synthesis.b8.conv0.affine.weight',
    'synthesis.b8.conv0.noise_strength', 'synthesis.b8.conv0.noise_const', 'synthesis.b8.torgb.weight', 'synthesis.b64.resample_filter']) {
    assert.ok(names.includes(n), n);
  }
  const d = new E.Discriminator({ ...D_CONFIG, imgResolution: 64 });
  const dNames = [...d.stateDict().keys()];
  for (const n of ['b64.fromrgb.weight', 'b64.skip.weight', 'b32.conv1.resample_filter', 'b4.conv.weight', 'b4.fc.weight', 'b4.out.weight']) {
    assert.ok(dNames.includes(n), n);
  }
  assert.not.ok(dNames.includes('b32.fromrgb.weight'), 'only the first block reads the image');
  assert.not.ok(dNames.includes('b64.skip.bias'), 'the skip conv has no bias');
  g.dispose();
  d.dispose();
});

test('mapping network matches PyTorch, with truncation (ψ, cutoff) and the w_avg update', async () => {
  const g = goldenG();
  const z = upload('z');
  // f32 through 2 layers of 32 features: summation order only. 1e-5 relative + 1e-5 absolute.
  assertClose(await read(g.mapping.forward(z)), golden('ws'), 1e-5, 1e-5, 'ws');
  const cut = g.mapping.forward(z, { truncationPsi: 0.7, truncationCutoff: 3 });
  assertClose(await read(cut), golden('ws_psi0.7_cutoff3'), 1e-5, 1e-5, 'ws ψ 0.7, cutoff 3');
  assertClose(await read(g.mapping.forward(z, { truncationPsi: 0.5 })), golden('ws_psi0.5'), 1e-5, 1e-5, 'ws ψ 0.5');

  const before = await read(g.mapping.wAvg);
  g.mapping.forward(z, { updateWAvg: true });
  assertClose(await read(g.mapping.wAvg), golden('w_avg_updated'), 1e-5, 1e-6, 'w_avg after a training step');
  E.loadModuleFromHost(g, GOLDEN, 'G.', true);
  g.mapping.forward(z); // eval mode: no update
  g.mapping.train().forward(z, { updateWAvg: false });
  assertClose(await read(g.mapping.wAvg), before, 0, 0, 'w_avg untouched in eval mode or when told not to update');
  g.dispose();
});

test('synthesis network matches PyTorch (noise const), fused (eval) and unfused (training) modulation', async () => {
  const g = goldenG();
  const ws = upload('ws');
  // 3 blocks of modulated convs with demodulation, clamped at 2: f32 rounding of O(1) values through
  // ~10 layers, 2e-4 relative + 2e-4 absolute.
  assertClose(await read(g.synthesis.forward(ws, { noiseMode: 'const' })), golden('img'), 2e-4, 2e-4, 'img (fused)');
  g.train();
  assertClose(await read(g.synthesis.forward(ws, { noiseMode: 'const' })), golden('img'), 2e-4, 2e-4, 'img (unfused)');
  // Whole generator from z, no truncation, no w_avg update.
  const img = await read(g.forward(upload('z'), { noiseMode: 'const', updateWAvg: false }));
  assertClose(img, golden('img'), 2e-4, 2e-4, 'G(z)');

  // 'random' noise differs between calls, 'none' is deterministic and differs from 'const'.
  const a = await read(g.synthesis.forward(ws, { noiseMode: 'random' }));
  const b = await read(g.synthesis.forward(ws, { noiseMode: 'random' }));
  assert.ok(a.some((v, i) => v !== b[i]), 'random noise changes between calls');
  const n1 = await read(g.synthesis.forward(ws, { noiseMode: 'none' }));
  assertClose(await read(g.synthesis.forward(ws, { noiseMode: 'none' })), n1, 0, 0, "'none' is deterministic");
  assert.ok(n1.some((v, i) => Math.abs(v - golden('img')[i]) > 1e-4), "'none' differs from 'const' (noise strengths are non-zero)");
  g.dispose();
});

test('discriminator matches PyTorch on reals (batch 4, one mbstd group) and fakes (batch 2)', async () => {
  const d = goldenD();
  // 3 blocks + epilogue, f32: 2e-4 relative + 2e-4 absolute on logits of O(1).
  assertClose(await read(d.forward(upload('real'))), golden('logits_real'), 2e-4, 2e-4, 'D(real)');
  assertClose(await read(d.forward(upload('img'))), golden('logits_fake'), 2e-4, 2e-4, 'D(fake)');
  const pairs = new E.Discriminator({ ...D_CONFIG, mbstdGroupSize: 2 });
  E.loadModuleFromHost(pairs, GOLDEN, 'D.', true);
  assertClose(await read(pairs.forward(upload('real'))), golden('logits_real_mbstd_group2'), 2e-4, 2e-4, 'D(real), two mbstd groups of 2');
  pairs.dispose();
  assert.throws(() => d.forward(E.zeros([6, 1, 16, 16])), /MinibatchStdLayer/, 'a batch of 6 does not split into groups of 4');
  d.dispose();
});

test('gradients of Σ D(G(z)) w.r.t. G and D weights match PyTorch', async () => {
  const g = goldenG();
  const d = goldenD();
  const gParams = new Map(g.namedParameters());
  const dParams = new Map(d.namedParameters());
  const wanted = [...GOLDEN.keys()].filter((k) => k.startsWith('io.grad.')).map((k) => k.slice('io.grad.'.length));
  const tensors = wanted.map((n) => (n.startsWith('G.') ? gParams : dParams).get(n.slice(2))!);
  assert.ok(wanted.length >= 15 && tensors.every(Boolean), 'every golden gradient names a parameter');
  const logits = d.forward(g.forward(upload('z'), { noiseMode: 'const' }));
  const grads = E.grad(E.sum(logits), tensors);
  for (let i = 0; i < wanted.length; i++) {
    const want = golden(`grad.${wanted[i]}`);
    // Backward through both networks in f32: 1e-3 relative, plus 1e-3 of the largest entry.
    assertClose(await read(grads[i]!), want, 1e-3, 1e-3 * scale(want) + 1e-6, `d/d ${wanted[i]}`);
  }
  g.dispose();
  d.dispose();
});

test('G and D at resolution 64 (narrow channels): output shapes, finite values, shape errors', async () => {
  const g = new E.StyleGAN2Generator({ ...G_CONFIG, imgResolution: 64, channelBase: 256, channelMax: 8 });
  const d = new E.Discriminator({ ...D_CONFIG, imgResolution: 64, channelBase: 256, channelMax: 8 });
  const z = E.tensor(Float32Array.from(randArray(2 * 32, 3)), [2, 32]);
  const img = E.tidy(() => g.forward(z, { truncationPsi: 0.7, truncationCutoff: 4 }));
  assert.equal(img.shape, [2, 1, 64, 64]);
  const logits = d.forward(img);
  assert.equal(logits.shape, [2, 1]);
  assert.ok((await read(logits)).every(Number.isFinite), 'finite logits');
  assert.throws(() => g.forward(E.zeros([2, 31])), /MappingNetwork: z must be \[N, 32\].*\[2, 31\]/);
  assert.throws(() => g.synthesis.forward(E.zeros([2, 9, 32])), /SynthesisNetwork: ws must be \[N, 10, 32\]/);
  assert.throws(() => d.forward(E.zeros([2, 1, 32, 32])), /Discriminator: expects images \[N, 1, 64, 64\]/);
  g.dispose();
  d.dispose();
});

/** R1 = Σ ‖∇ₓ D(x)‖² over the batch, differentiable w.r.t. D's weights (double backward). */
function r1Penalty(d: E.Discriminator, x: Tensor): Tensor {
  const xg = E.clone(x); // a fresh leaf (a shared handle would point autograd back at x)
  xg.requiresGrad = true;
  const [dx] = E.grad(E.sum(d.forward(xg)), [xg], { createGraph: true });
  return E.sum(E.mul(dx!, dx!));
}

test('R1 penalty and its gradient w.r.t. D weights match PyTorch (double backward)', async () => {
  const d = goldenD();
  const r1 = r1Penalty(d, upload('real'));
  assertClose(await read(r1), golden('r1'), 1e-3, 1e-7, 'R1');
  const names = [...GOLDEN.keys()].filter((k) => k.startsWith('io.r1_grad.D.')).map((k) => k.slice('io.r1_grad.D.'.length));
  const params = new Map(d.namedParameters());
  const grads = E.grad(r1, names.map((n) => params.get(n)!));
  for (let i = 0; i < names.length; i++) {
    const want = golden(`r1_grad.D.${names[i]}`);
    // Second derivatives in f32 through 4 layers: 2e-3 relative, plus 2e-3 of the largest entry.
    assertClose(await read(grads[i]!), want, 2e-3, 2e-3 * scale(want) + 1e-9, `dR1/d ${names[i]}`);
  }
  d.dispose();
});

test('R1 gradient w.r.t. D weights agrees with finite differences (tiny D, no clamp)', async () => {
  // Resolution 8: one block (fromrgb, conv0, conv1 ↓2, skip ↓2) and the epilogue with minibatch std.
  const d = new E.Discriminator({ imgResolution: 8, imgChannels: 1, channelBase: 32, channelMax: 4, mbstdGroupSize: 2, mbstdChannels: 1, convClamp: null, seed: 5 });
  const x = E.tensor(Float32Array.from(randArray(2 * 64, 7, -2, 2)), [2, 1, 8, 8]);
  const names = ['b8.fromrgb.weight', 'b8.conv0.weight', 'b8.skip.weight', 'b4.conv.weight', 'b4.fc.weight'];
  const params = new Map(d.namedParameters());
  const analytic = E.grad(r1Penalty(d, x), names.map((n) => params.get(n)!));
  const penaltyAt = async () => E.tidy(() => r1Penalty(d, x)).item();
  const h = 1e-3;
  for (let k = 0; k < names.length; k++) {
    const p = params.get(names[k])!;
    const values = Float32Array.from(await p.data());
    const got = await read(analytic[k]!);
    // Three entries per tensor (first, middle, last) keep the run short.
    for (const i of [0, values.length >> 1, values.length - 1]) {
      const at = async (delta: number) => {
        const v = Float32Array.from(values);
        v[i] += delta;
        const t = E.tensor(v, p.shape);
        d.loadStateDict(new Map([[names[k], t]]), { strict: false });
        t.dispose();
        return penaltyAt();
      };
      const [plus, zero, minus] = [await at(h), await at(0), await at(-h)];
      // ∇ₓD depends on the leaky-ReLU masks, so R1 jumps where a pre-activation crosses 0. A step of
      // 1e-3 seldom spans such a crossing, let alone one on each side: compare with the one-sided
      // difference nearer the analytic value.
      const numeric = [(plus - zero) / h, (zero - minus) / h].reduce((a, b) => (Math.abs(a - got[i]) < Math.abs(b - got[i]) ? a : b));
      // f32 differences with h = 1e-3 (truncation error O(h)): 5e-2 relative + 5e-2 of the largest
      // analytic entry.
      assertClose([got[i]], [numeric], 5e-2, 5e-2 * scale(got) + 1e-6, `dR1/d ${names[k]}[${i}]`);
    }
  }
  d.dispose();
});

test.run();
