// UNet weights from the checkpoints users bring (io/state-dict.ts reads them, models/weights.ts names
// them, models/unet-weights.ts loads them): BCP's .pth ({'net', 'opt'} with auxiliary heads,
// test/golden/bcp_checkpoint.py), wrappers and DataParallel prefixes, and the one-line refusals for
// unknown tensors, other widths and other networks.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { runBench, tempDir } from './fixtures.js';

const tmp = tempDir('unet-weights');
const BCP = 'test/golden/bcp_tiny.pth';
// The UNet part of the same network, saved by the golden script as safetensors under 'param.' (read
// by the safetensors reader, not the .pth one: an independent copy of the weights).
const EXPECTED = E.loadSafetensors('test/golden/bcp_tiny_expected.safetensors');
const FEATURES = [4, 8, 8, 16, 16];
const unetOnly = () => new Map([...EXPECTED.tensors].filter(([k]) => k.startsWith('param.')).map(([k, v]) => [k.slice('param.'.length), v]));

async function assertWeightsEqualGolden(model: E.UNet): Promise<void> {
  let n = 0;
  for (const [name, t] of model.stateDict()) {
    const want = EXPECTED.tensors.get(`param.${name}`);
    assert.ok(want, `golden has ${name}`);
    assert.equal(Array.from(await t.data(), Number), Array.from(want!.data as Float32Array | Int32Array, Number), name);
    n++;
  }
  assert.is(n, unetOnly().size, 'every UNet tensor compared');
}

// Catches: the 'net' wrapper not unwrapped (it would read as a foreign network), BCP's heads not
// skipped (unknown tensors), the notice missing or spread over many lines, a tensor loaded under the
// wrong name or converted wrongly (num_batches_tracked is int64 in the .pth), widths not inferred.
test("BCP's {'net', 'opt'} .pth with auxiliary heads loads: one-line notice, the golden weights, eval mode", async () => {
  const notices: string[] = [];
  const model = E.loadUNet(BCP, { onNotice: (l) => notices.push(l) });
  assert.is(notices.length, 1);
  assert.not.match(notices[0], /\n/);
  assert.match(notices[0], /^test\/golden\/bcp_tiny\.pth: weights from 'net'; 'opt' \(optimiser state\) ignored; BCP's auxiliary heads skipped/);
  assert.match(notices[0], /projection_head, prediction_head, contrastive_class_selector_\*, contrastive_class_selector_memory\*: 90 tensors/);
  assert.equal(model.config.features, FEATURES);
  assert.is(model.config.numClasses, 4);
  assert.is(model.training, false, 'eval mode');
  await assertWeightsEqualGolden(model);
  model.dispose();
});

// The trainers' --init path: into an existing UNet, whose widths must match.
test('loadUNetWeights (--init): the BCP checkpoint into a UNet of its widths; other widths → one line', async () => {
  const model = new E.UNet({ features: FEATURES, numClasses: 4, seed: 5 });
  E.loadUNetWeights(BCP, model, { onNotice: () => {} });
  await assertWeightsEqualGolden(model);
  model.dispose();
  const wide = new E.UNet({ numClasses: 4 });
  const expected = `${BCP} is a UNet with widths [4,8,8,16,16], 1 input channel(s), 4 classes, this UNet needs widths [16,32,64,128,256], 1 input channel(s), 4 classes: use a checkpoint of the same network settings`;
  assert.throws(() => E.loadUNetWeights(BCP, wide, { onNotice: () => {} }), (e: Error) => e instanceof E.UserError && e.message === expected);
  wide.dispose();
  assert.throws(() => E.checkUNetConfig(E.readUNetCheckpoint(BCP), { numClasses: 2 }, 'vessel segmentation'), /bcp_tiny\.pth is a UNet with 4 classes, vessel segmentation needs 2: use a checkpoint trained on this data$/);
});

// Catches: wrappers other than BCP's 'net' not recognised, DataParallel's prefix left on, optimiser
// state beside the wrapper taken for the network, a notice that does not say what was unwrapped.
test("wrappers: {'state_dict': …}, {'model': …} and 'module.' prefixes load the same weights", async () => {
  for (const [file, rename, notes] of [
    ['state_dict.safetensors', (k: string) => `state_dict.${k}`, ["weights from 'state_dict'"]],
    ['model_opt.safetensors', (k: string) => `model.${k}`, ["weights from 'model'; 'optimizer' (optimiser state) ignored"]],
    ['dataparallel.safetensors', (k: string) => `module.${k}`, ["'module.' prefix (DataParallel) removed"]],
    ['both.safetensors', (k: string) => `net.module.${k}`, ["weights from 'net'", "'module.' prefix (DataParallel) removed"]],
  ] as const) {
    const path = join(tmp, file);
    const state = new Map([...unetOnly()].map(([k, v]) => [rename(k), v]));
    if (file === 'model_opt.safetensors') state.set('optimizer.state.0.momentum_buffer', EXPECTED.tensors.get('param.decoder.out_conv.bias')!);
    E.saveSafetensors(path, state);
    const notices: string[] = [];
    const model = E.loadUNet(path, { onNotice: (l) => notices.push(l) });
    await assertWeightsEqualGolden(model);
    assert.equal(notices, [`${path}: ${notes.join('; ')}`], file);
    model.dispose();
    const read = E.readStateDict(path);
    assert.equal([...read.tensors.keys()].sort(), [...unetOnly().keys()].sort(), `${file}: the reader itself unwraps`);
    assert.equal(read.notes, [...notes]);
  }
});

// Catches: unknown tensors silently dropped (only BCP's named heads may be), a missing tensor left
// at its random initialisation, and an error that lists every key over many lines.
test('unknown extra tensors and missing tensors are errors, in one line', () => {
  const extra = new Map(unetOnly());
  for (let i = 0; i < 6; i++) extra.set(`decoder.out_conv_dp${i}.weight`, EXPECTED.tensors.get('param.decoder.out_conv.weight')!);
  const path = join(tmp, 'deep-supervision.safetensors');
  E.saveSafetensors(path, extra);
  let message = '';
  try {
    E.loadUNet(path);
  } catch (e) {
    assert.instance(e, E.UserError);
    message = (e as Error).message;
  }
  assert.is(
    message,
    `${path}: loadStateDict (UNet): unexpected keys: decoder.out_conv_dp0.weight, decoder.out_conv_dp1.weight, decoder.out_conv_dp2.weight and 3 more; ` +
      "use the UNet's own state dict (BCP's auxiliary heads are skipped, nothing else is)",
  );
  const missing = new Map(unetOnly());
  missing.delete('decoder.up2.conv1x1.bias');
  const path2 = join(tmp, 'missing.safetensors');
  E.saveSafetensors(path2, missing);
  assert.throws(() => E.loadUNet(path2), /missing\.safetensors: loadStateDict \(UNet\): missing keys: decoder\.up2\.conv1x1\.bias; use the UNet's own/);
});

// Catches: a foreign checkpoint answered with hundreds of missing/unexpected names, or not named.
test('a checkpoint of another network, a pickle or a non-checkpoint is named in one short line', () => {
  const oneLine = (path: string, pattern: RegExp) => {
    try {
      E.readUNetCheckpoint(path);
    } catch (e) {
      assert.instance(e, E.InputError, path); // UserError or the engine's InputError: exit 2 in a command
      const m = (e as Error).message;
      assert.match(m, pattern);
      assert.not.match(m, /\n/);
      // Short apart from the path, whose length is the user's (a scratch folder's here).
      const own = m.replaceAll(path, '').length;
      assert.ok(own < 260, `${own} characters besides the path: ${m}`);
      return;
    }
    assert.unreachable(`${path} loaded as a UNet`);
  };
  const notUNet = ', not a UNet \\(expected keys like encoder\\.in_conv\\.conv_conv\\.0\\.weight\\)$';
  oneLine('test/golden/stylegan2_tiny.safetensors', new RegExp(`^test/golden/stylegan2_tiny\\.safetensors holds StyleGAN2 networks \\(a generator G and a discriminator D\\)${notUNet}`));
  oneLine('test/golden/vit_tiny_hub.pth', new RegExp(`vit_tiny_hub\\.pth holds DINOv2 \\(ViT\\) weights${notUNet}`));
  oneLine('test/golden/vit_tiny_hf.safetensors', new RegExp(`vit_tiny_hf\\.safetensors holds DINOv2 \\(ViT\\) weights${notUNet}`));
  oneLine('test/golden/unet_small.safetensors', /unet_small\.safetensors holds weights of an unknown model \(keys like after\.decoder/);
  const pickle = join(tmp, 'network-snapshot-000100.pkl');
  writeFileSync(pickle, Buffer.from([0x80, 0x04, 0x95, 0x00, 0x7d, 0x94, 0x2e]));
  oneLine(pickle, /a pickled Python object .*StyleGAN2-ADA/);
  oneLine('test/golden/zoom_golden.json', /neither a safetensors file nor a PyTorch zip checkpoint/);
  oneLine(join(tmp, 'absent.pth'), /absent\.pth: no such file; check the path/);
});

// Catches: a trainer that discovers a bad --init only after the run folder exists or training
// started (the phantom needs no data files, so only --init can be wrong here).
test('the trainers check --init before anything starts: another network or other widths → exit 2, one line, no run folder', () => {
  const out = join(tmp, 'never');
  const vit = runBench('train-acdc', ['--init', 'test/golden/vit_tiny_hub.pth', '--out', out], { SRASEG_DEBUG: '' });
  assert.is(vit.code, 2, vit.stderr);
  assert.equal(vit.lines, ['train-acdc: test/golden/vit_tiny_hub.pth holds DINOv2 (ViT) weights, not a UNet (expected keys like encoder.in_conv.conv_conv.0.weight)']);
  const bcp = runBench('train-acdc', ['--method', 'bcp', '--init', BCP, '--out', out], { SRASEG_DEBUG: '' });
  assert.is(bcp.code, 2, bcp.stderr);
  assert.equal(bcp.lines, [
    `train-acdc: ${BCP} is a UNet with widths [4,8,8,16,16], 1 input channel(s), 4 classes, --init for this data needs widths [16,32,64,128,256], 1 input channel(s), 4 classes: use a checkpoint of the same network settings`,
  ]);
  assert.not.ok(existsSync(out));
});

test.run();
