import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as E from '../src/index.js';
import { assertClose, quiet, read } from './helpers.js';
import { tempDir } from './fixtures.js';

// Fixtures from test/golden/stylegan2_ada_pkl.py, which runs the OFFICIAL NVlabs/stylegan2-ada-pytorch
// code (torch 1.13, CPU): stylegan2_ada_snapshot.pkl is the snapshot dict training_loop.py pickles
// (G, D, G_ema, augment_pipe with p = 0.234375; 16×16, 1 channel, z = w = 8, channel_base 32,
// channel_max 4, 2 mapping layers, num_fp16_res 4, conv_clamp 256, mbstd group 4; module sources
// replaced by a placeholder); stylegan2_ada_pkl.safetensors holds the official state dicts, init
// kwargs (metadata, json.dumps'd by Python), latents of seeds 0–3, G_ema's images and D's logits.
const PKL = 'test/golden/stylegan2_ada_snapshot.pkl';
const COND = 'test/golden/stylegan2_ada_conditional.pkl';
const GOLDEN = E.loadSafetensors('test/golden/stylegan2_ada_pkl.safetensors');
const golden = (name: string) => Float64Array.from(GOLDEN.tensors.get(name)!.data as Float32Array);
const goldenState = (prefix: string) =>
  new Map([...GOLDEN.tensors].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));
const z = () => E.fromHost(GOLDEN.tensors.get('z')!, 'z');
// f32 with another summation order than PyTorch's CPU kernels: measured here (llvmpipe) the images
// (|values| up to 8.5) differ by ≤ 4e-6 and the logits by ≤ 1e-6; the bound leaves 10× for GPUs.
const TOL = 5e-5;

// Catches: dict subclasses (dnnlib.EasyDict) read as empty, positional/keyword mix-ups, a kwargs
// conversion that loses nesting, a wrong class name, training_set_kwargs dropped.
test('the official snapshot reads: class names, init kwargs (the network configuration), data set kwargs', () => {
  const pkl = E.loadStyleGanPkl(PKL);
  assert.equal([...pkl.networks.keys()], ['G', 'D', 'G_ema', 'augment_pipe']);
  const classes = { G: 'Generator', D: 'Discriminator', G_ema: 'Generator', augment_pipe: 'AugmentPipe' };
  for (const [key, cls] of Object.entries(classes)) {
    const net = pkl.networks.get(key)!;
    assert.is(net.className, cls, key);
    assert.equal(net.initKwargs, JSON.parse(GOLDEN.metadata[key]), `${key} init_kwargs`);
    assert.equal(net.initArgs, []);
  }
  assert.equal(pkl.networks.get('G')!.initKwargs.synthesis_kwargs, { channel_base: 32, channel_max: 4, num_fp16_res: 4, conv_clamp: 256 });
  assert.is(pkl.trainingSetKwargs!.resolution, 16);
  assert.is(pkl.trainingSetKwargs!.path, '/data/slices.zip');
});

// Catches: a wrong storage offset/stride, one storage's bytes used for another tensor, buffers
// skipped (resample_filter, noise_const, w_avg) or non-persistent ones kept, nested module names
// joined wrongly, G and G_ema confused.
test('every parameter and buffer equals the official state_dict, under its name', () => {
  const pkl = E.loadStyleGanPkl(PKL);
  for (const key of ['G', 'D', 'G_ema']) {
    const want = goldenState(key);
    const got = pkl.networks.get(key)!.tensors;
    assert.equal([...got.keys()].sort(), [...want.keys()].sort(), `${key}: the state-dict names`);
    for (const [name, w] of want) {
      const g = got.get(name)!;
      assert.equal(g.shape, w.shape, `${key}.${name} shape`);
      assert.equal(Array.from(g.data as Float32Array), Array.from(w.data as Float32Array), `${key}.${name} values (exact)`);
    }
  }
  const p = pkl.networks.get('augment_pipe')!.tensors.get('p')!;
  assert.equal([p.shape, Array.from(p.data as Float32Array)], [[], [0.234375]]);
});

// Catches: defaults filled wrongly (mapping lr multiplier, w_avg_beta, mbstd channels), conv_clamp
// dropped, the two networks' shared settings read from the wrong dict.
test('the pickle configuration becomes the engine configuration', () => {
  const pkl = E.loadStyleGanPkl(PKL);
  assert.equal(E.generatorConfigFromPkl(pkl.networks.get('G_ema')!, 'G_ema'), {
    zDim: 8, wDim: 8, imgResolution: 16, imgChannels: 1, mappingLayers: 2, channelBase: 32, channelMax: 4, convClamp: 256,
    mappingLrMultiplier: 0.01, wAvgBeta: 0.995, seed: 0,
  });
  assert.equal(E.discriminatorConfigFromPkl(pkl.networks.get('D')!, 'D'), {
    imgResolution: 16, imgChannels: 1, channelBase: 32, channelMax: 4, convClamp: 256, mbstdGroupSize: 4, mbstdChannels: 1, seed: 0,
  });
  const aug = E.augmentFromPkl(pkl.networks.get('augment_pipe')!, 'augment_pipe');
  assert.is(aug.p, 0.234375);
  assert.equal(aug.probabilities, { ...E.BGC });
  assert.equal(aug.ranges, { ...E.AUGMENT_RANGES });
});

// Catches: any weight loaded into the wrong place, truncation towards the wrong w_avg, the
// constant noise or its strength lost, a wrong config — and a loader that trusts the file name:
// the snapshot is copied to a name without '.pkl' first.
test("generation from the pickle matches the official G_ema's images (ψ 1 and 0.7, noise 'const')", async () => {
  const dir = tempDir('stylegan-pkl');
  copyFileSync(PKL, `${dir}/snapshot.bin`);
  const G = E.loadGenerator(`${dir}/snapshot.bin`);
  for (const psi of [1, 0.7]) {
    const zz = z();
    const img = G.forward(zz, { truncationPsi: psi, noiseMode: 'const', updateWAvg: false });
    assertClose(await read(img), golden(`img_psi${psi}`), TOL, TOL, `G_ema image, ψ ${psi}`);
    img.dispose();
    zz.dispose();
  }
  G.dispose();
});

// Catches: D's weights or config (mbstd group, clamp, residual gains' inputs) loaded wrongly.
test("the pickle's D gives the official logits on those images", async () => {
  const D = E.pklDiscriminator(E.loadStyleGanPkl(PKL));
  for (const psi of [1, 0.7]) {
    const img = E.fromHost(GOLDEN.tensors.get(`img_psi${psi}`)!, 'img');
    const logits = D.forward(img);
    assertClose(await read(logits), golden(`logits_psi${psi}`), TOL, TOL, `D logits, ψ ${psi}`);
    for (const t of [img, logits]) t.dispose();
  }
  D.dispose();
});

const trainConfig = (out: string, over: Partial<E.StyleGanTrainConfig> = {}): E.StyleGanTrainConfig => ({
  ...E.STYLEGAN_TRAIN_DEFAULTS,
  out,
  resume: false,
  seed: 3,
  kimg: 0.008, // 2 minibatches of 4
  batch: 4,
  r1Gamma: 0.5,
  r1Interval: 2,
  plWeight: 0,
  emaKimg: 0.01,
  augment: 'ada',
  adaKimg: 0.01,
  adaInterval: 4, // no adjustment inside the 2 minibatches: p stays the snapshot's
  snapshotKimg: 1,
  logEvery: 1,
  gridImages: 4,
  ...over,
});

async function sameWeights(m: E.Module, want: Map<string, E.HostTensor>, what: string): Promise<void> {
  const own = m.stateDict();
  assert.equal([...own.keys()].sort(), [...want.keys()].sort(), `${what}: names`);
  for (const [name, t] of own) assert.equal(Array.from(await t.data()), Array.from(want.get(name)!.data as Float32Array), `${what}.${name}`);
}

// Catches: the trainer initialising fresh weights instead of the pickle's, G and G_ema swapped,
// G_ema re-copied from G after loading, ADA's p reset to 0, a fixed p overridden by the pickle's.
test("resume-from-pkl: the trainer's G, D, G_ema and ADA p are the pickle's", async () => {
  const start = E.trainingStartFromPkl(PKL, { resolution: 16, 'z-dim': 8 });
  const cfg = { ...trainConfig('/tmp/unused'), ...start.networks };
  const built = E.buildStyleGanNetworks(cfg, start.resolution, start);
  await sameWeights(built.G, goldenState('G'), 'G');
  await sameWeights(built.D, goldenState('D'), 'D');
  await sameWeights(built.G_ema, goldenState('G_ema'), 'G_ema');
  assert.is(built.augment!.p, 0.234375);
  for (const m of [built.G, built.D, built.G_ema]) m.dispose();
  const fixed = E.buildStyleGanNetworks({ ...cfg, augment: 'fixed', augmentP: 0.5 }, 16, start);
  assert.is(fixed.augment!.p, 0.5, '--augment fixed keeps the p asked for');
  for (const m of [fixed.G, fixed.D, fixed.G_ema]) m.dispose();
});

// Catches: flags silently overriding the snapshot's configuration, a config that disagrees with
// the snapshot reaching the networks.
test('resume-from-pkl: flags or a config that contradict the snapshot are an error', () => {
  assert.throws(() => E.trainingStartFromPkl(PKL, { 'channel-base': 16384, resolution: 64 }), /--resolution 64 contradicts its img_resolution 16; --channel-base 16384 contradicts its channel_base 32/);
  const start = E.trainingStartFromPkl(PKL);
  const cfg = { ...trainConfig('/tmp/unused'), ...start.networks };
  assert.throws(() => E.buildStyleGanNetworks({ ...cfg, convClamp: null }, 16, start), /differs from the snapshot in convClamp \(null vs 256\)/);
  assert.throws(() => E.buildStyleGanNetworks(cfg, 32, start), /resolution \(32 vs 16\)/);
});

// Catches: the start ignored by trainStyleGAN (or applied only when resuming), p not carried into
// training, the run not recording where it started from.
test('resume-from-pkl: training runs from the snapshot and says so', async () => {
  const dir = tempDir('stylegan-pkl-train');
  const start = E.trainingStartFromPkl(PKL);
  const reals = E.RealImageSet.fromDataset(new E.PhantomDataset({ seed: 2, size: 16, trainSlices: 8, labeledSlices: 8, valVolumes: 1, volumeDepth: 2 }), 16, 3);
  await quiet(() => E.trainStyleGAN(reals, { ...trainConfig(dir), ...start.networks }, undefined, start));
  const rows = readFileSync(`${dir}/log.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>).filter((r) => r.G_loss !== undefined);
  assert.is(rows.length, 2);
  for (const r of rows) assert.is(r.p, 0.234375, 'ADA continues from the snapshot p');
  assert.is(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')).startedFrom, PKL);
});

// Catches: reading past the end of the buffer (garbage or a RangeError instead of a clear message).
test('a truncated pickle is a clear error', () => {
  const bytes = readFileSync(PKL);
  for (const cut of [3, 1000, Math.floor(bytes.length / 2), bytes.length - 1]) {
    assert.throws(() => E.decodeStyleGanPkl(bytes.subarray(0, cut), 'cut.pkl'), /^cut\.pkl: truncated pickle: it ends at byte \d+ (inside an opcode|before its STOP)/, `cut at ${cut}`);
  }
});

// Catches: G (or nothing) silently used when G_ema is absent.
test('a pickle without G_ema is a clear error naming what it holds', () => {
  const bytes = Buffer.from(readFileSync(PKL));
  const key = Buffer.from([0x8c, 5, ...Buffer.from('G_ema')]); // SHORT_BINUNICODE 'G_ema', once, in the top-level dict
  const at = bytes.indexOf(key);
  assert.ok(at > 0 && bytes.indexOf(key, at + 1) < 0);
  bytes.write('G_emX', at + 2, 'latin1');
  const dir = tempDir('stylegan-pkl');
  writeFileSync(`${dir}/no-ema.pkl`, bytes);
  assert.throws(() => E.loadGenerator(`${dir}/no-ema.pkl`), /no-ema\.pkl: no G_ema in this pickle \(it holds G, D, augment_pipe\)/);
});

// Catches: an unsupported network approximated instead of refused, or refused with a vague or
// multi-line message. The conditional fixture is pickled with protocol 3 (Python 3.7's default), so
// this also reads the protocol-3 opcodes.
test('an unsupported configuration is a one-line error naming the setting', () => {
  const cond = E.loadStyleGanPkl(COND);
  assert.equal(cond.networks.get('G_ema')!.tensors.get('mapping.embed.weight')!.shape, [8, 2], 'protocol 3 reads');
  let message = '';
  try {
    E.loadGenerator(COND);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /stylegan2_ada_conditional\.pkl: G_ema: unsupported configuration: conditional generator \(c_dim 2\)/);
  assert.not.match(message, /\n/);

  const pkl = E.loadStyleGanPkl(PKL);
  const variant = (key: string, edit: (kw: Record<string, any>) => void): E.PklNetwork => {
    const net = pkl.networks.get(key)!;
    const kw = structuredClone(net.initKwargs);
    edit(kw);
    return { ...net, initKwargs: kw };
  };
  const cases: [() => unknown, RegExp][] = [
    [() => E.generatorConfigFromPkl(variant('G_ema', (k) => (k.synthesis_kwargs.architecture = 'resnet')), 'G'), /architecture = "resnet" \(the engine's synthesis network is 'skip'\)/],
    [() => E.generatorConfigFromPkl(variant('G_ema', (k) => (k.mapping_kwargs.layer_features = 16)), 'G'), /layer_features = 16/],
    [() => E.generatorConfigFromPkl(variant('G_ema', (k) => (k.synthesis_kwargs.magnitude_ema_beta = 0.99)), 'G'), /magnitude_ema_beta \(settings this engine does not know\)/],
    [() => E.discriminatorConfigFromPkl(variant('D', (k) => (k.architecture = 'orig')), 'D'), /architecture = "orig"/],
    [() => E.discriminatorConfigFromPkl(variant('D', (k) => (k.block_kwargs.freeze_layers = 2)), 'D'), /freeze_layers = 2 \(Freeze-D is not implemented\)/],
    [() => E.augmentFromPkl(variant('augment_pipe', (k) => (k.noise = 1)), 'augment_pipe'), /noise = 1/],
  ];
  for (const [fn, re] of cases) assert.throws(fn, (e: Error) => e instanceof E.UnsupportedPklConfigError && re.test(e.message) && !e.message.includes('\n'), String(re));
});

// Catches: a loader that ignores missing or extra weights (strict loading by name).
test('missing or unknown weights are an error naming them', () => {
  const pkl = E.loadStyleGanPkl(PKL);
  const config = E.generatorConfigFromPkl(pkl.networks.get('G_ema')!, 'G_ema');
  const tensors = new Map(pkl.networks.get('G_ema')!.tensors);
  tensors.delete('mapping.w_avg');
  tensors.set('synthesis.b4.extra', tensors.get('synthesis.b4.const')!);
  const G = new E.StyleGAN2Generator(config);
  assert.throws(() => E.loadPklWeights(G, tensors, 'snap.pkl: G_ema'), /snap\.pkl: G_ema: .*missing keys: mapping\.w_avg\. unexpected keys: synthesis\.b4\.extra/);
  G.dispose();
});

test('loadGenerator names a file that is neither a generator nor a snapshot', () => {
  assert.throws(() => E.loadGenerator('test/golden/pth_features.pth'), /a zip archive .* an official StyleGAN2-ADA network-snapshot-\*\.pkl/);
});

test.run();
