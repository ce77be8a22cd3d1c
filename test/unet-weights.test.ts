// UNet weights from the checkpoints users bring (models/unet-weights.ts, io/state-dict.ts):
// BCP's .pth ({'net', 'opt'} with auxiliary heads, test/golden/bcp_checkpoint.py), wrappers and
// DataParallel prefixes, and the one-line refusals for unknown tensors and for other networks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'unet-weights-'));
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
  assert.throws(() => E.loadUNetWeights(BCP, wide, { onNotice: () => {} }), /^test\/golden\/bcp_tiny\.pth: a UNet with 1 input channel\(s\), widths \[4,8,8,16,16\], 4 classes; this run needs 1 input channel\(s\), widths \[16,32,64,128,256\], 4 classes\. Give a checkpoint of the same network\.$/);
  wide.dispose();
  assert.throws(() => E.loadUNet(BCP, { numClasses: 2, onNotice: () => {} }), /the UNet has 4 output classes, 2 were asked for/);
});

// Catches: wrappers other than BCP's 'net' not recognised, DataParallel's prefix left on, and the
// generic loadModule (stage resume, other modules) no longer reading .pth-style wrapped names.
test("wrappers: {'state_dict': …}, {'model': …} and 'module.' prefixes load the same weights", async () => {
  for (const [file, rename] of [
    ['state_dict.safetensors', (k: string) => `state_dict.${k}`],
    ['model_opt.safetensors', (k: string) => `model.${k}`],
    ['dataparallel.safetensors', (k: string) => `module.${k}`],
    ['both.safetensors', (k: string) => `net.module.${k}`],
  ] as const) {
    const path = join(tmp, file);
    const state = new Map([...unetOnly()].map(([k, v]) => [rename(k), v]));
    if (file === 'model_opt.safetensors') state.set('optimizer.state.0.momentum_buffer', EXPECTED.tensors.get('param.decoder.out_conv.bias')!);
    E.saveSafetensors(path, state);
    const notices: string[] = [];
    const model = E.loadUNet(path, { onNotice: (l) => notices.push(l) });
    await assertWeightsEqualGolden(model);
    assert.is(notices.length, 1, file);
    model.dispose();
    const plain = new E.UNet({ features: FEATURES });
    E.loadModule(path, plain);
    await assertWeightsEqualGolden(plain);
    plain.dispose();
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
    assert.instance(e, E.CheckpointError);
    message = (e as Error).message;
  }
  assert.match(message, /^.*deep-supervision\.safetensors: not this UNet's tensors: unknown tensors decoder\.out_conv_dp0\.weight, decoder\.out_conv_dp1\.weight, decoder\.out_conv_dp2\.weight, decoder\.out_conv_dp3\.weight and 2 more\./);
  assert.not.match(message, /\n/);
  const missing = new Map(unetOnly());
  missing.delete('decoder.up2.conv1x1.bias');
  const path2 = join(tmp, 'missing.safetensors');
  E.saveSafetensors(path2, missing);
  assert.throws(() => E.loadUNet(path2), /not this UNet's tensors: missing decoder\.up2\.conv1x1\.bias\./);
});

// Catches: a foreign checkpoint answered with hundreds of missing/unexpected names, or not named.
test('a checkpoint of another network, a pickle or a non-checkpoint is named in one short line', () => {
  const oneLine = (path: string, pattern: RegExp) => {
    try {
      E.readUNetCheckpoint(path);
    } catch (e) {
      assert.instance(e, E.CheckpointError, path);
      const m = (e as Error).message;
      assert.match(m, pattern);
      assert.not.match(m, /\n/);
      assert.ok(m.length < 320, `${m.length} characters: ${m}`);
      return;
    }
    assert.unreachable(`${path} loaded as a UNet`);
  };
  oneLine('test/golden/stylegan2_tiny.safetensors', /stylegan2_tiny\.safetensors: a StyleGAN2 network \(120 tensors, e\.g\. '.*'\), not UNet weights\./);
  oneLine('test/golden/vit_tiny_hub.pth', /vit_tiny_hub\.pth: a ViT \(DINOv2-style\) network/);
  oneLine('test/golden/vit_tiny_hf.safetensors', /vit_tiny_hf\.safetensors: a ViT \(DINOv2-style\) network/);
  oneLine('test/golden/unet_small.safetensors', /no UNet tensor names among its \d+ tensors/);
  const pickle = join(tmp, 'network-snapshot-000100.pkl');
  writeFileSync(pickle, Buffer.from([0x80, 0x04, 0x95, 0x00, 0x7d, 0x94, 0x2e]));
  oneLine(pickle, /a pickled Python object .*StyleGAN2-ADA/);
  oneLine('test/golden/zoom_golden.json', /neither a safetensors file nor a PyTorch zip checkpoint/);
  oneLine(join(tmp, 'absent.pth'), /absent\.pth: file not found/);
});

// Catches: a trainer that discovers a bad --init only after loading the data (or after pre-training).
test('the trainers check --init with the options: another network or other widths → one line', () => {
  const args = Object.fromEntries(Object.entries(E.METHOD_OPTIONS).map(([k, o]) => [k, o.default]));
  assert.is(E.methodArgsProblem({ ...args }), null);
  assert.match(E.methodArgsProblem({ ...args, init: 'test/golden/vit_tiny_hub.pth' })!, /^--init test\/golden\/vit_tiny_hub\.pth: a ViT \(DINOv2-style\) network/);
  assert.match(E.methodArgsProblem({ ...args, init: BCP })!, /^--init test\/golden\/bcp_tiny\.pth: a UNet of widths \[4,8,8,16,16\] with 1 input channel\(s\); the trainers build \[16,32,64,128,256\]/);
});

test.run();
