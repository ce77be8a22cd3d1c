// Everything a run needs is checked before it starts: dataset preflights (a truncated or mis-shaped
// file, an empty list), evaluation needing only the list it evaluates, weights files of the wrong
// model named in one line, and the commands doing all of this before creating a run folder.
// Fixtures are small files written to a temporary folder. Each test names the mistake it catches.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { rejectsData, runBench, tempDir, throwsData, writeAcdcTree } from './fixtures.js';

const tmp = tempDir('preflight');

/** A copy of the file cut to `fraction` of its bytes. */
function truncate(file: string, fraction = 0.6): void {
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

// ---- ACDC ----

test('AcdcDataset.preflight finds a truncated validation volume that open() accepts (catches: a damaged volume found only at the first validation, hours in)', async () => {
  const t = await writeAcdcTree(join(tmp, 'truncated'));
  const bad = join(t.root, 'data', `${t.volumes[1]}.h5`);
  truncate(bad);
  const data = await E.AcdcDataset.open({ root: t.root, labeled: { patients: 1 } });
  throwsData(() => data.preflight(), bad, /damaged HDF5 file \(truncated file/);
});

test('AcdcDataset.preflight checks ranks and dtypes from the headers (catches: a slice listed as a volume, an integer image)', async () => {
  const t = await writeAcdcTree(join(tmp, 'shapes'));
  const slice = join(t.root, 'data', `${t.slices[0]}.h5`);
  const volume = join(t.root, 'data', `${t.volumes[0]}.h5`);
  writeFileSync(volume, readFileSync(slice)); // a 2D slice where a volume is listed
  const data = await E.AcdcDataset.open({ root: t.root, labeled: { patients: 1 } });
  throwsData(() => data.preflight(), volume, /same 3D shape.*Use a volume file/);
  assert.not.throws(() => E.checkAcdcHeader(slice, 2));
});

test('an empty val.list is refused when the set is opened (catches: training that validates on nothing, its "best" checkpoint never written)', async () => {
  const t = await writeAcdcTree(join(tmp, 'empty-list'));
  writeFileSync(join(t.root, 'val.list'), '\n\n');
  await rejectsData(() => E.AcdcDataset.open({ root: t.root, labeled: { patients: 1 } }), join(t.root, 'val.list'), /the list names no files/);
});

test('evaluation opens only its volume list: no training list, no slices needed (catches: eval --list test.list refusing to run without every training slice)', async () => {
  const root = join(tmp, 'eval-only');
  const t = await writeAcdcTree(root, { slices: 0, volumes: 1, trainList: false });
  writeFileSync(join(root, 'test.list'), `${t.volumes[0]}\n`);
  const data = await E.AcdcDataset.open({ root, volumeList: 'test.list' });
  data.preflight();
  assert.equal(data.valVolumes, t.volumes);
  assert.equal(data.trainSlices, []);
  assert.is(data.getVolume(t.volumes[0]).depth, 2);
  assert.match(data.describe(), /1 volumes/);
  // Training does need the list: its absence is still one clear error.
  await rejectsData(() => E.AcdcDataset.open({ root, labeled: { patients: 1 } }), join(root, 'train_slices.list'), /list file not found/);
});

test('train-acdc stops at start on a truncated validation volume: exit 2, one line naming it, no run folder (catches: the check running after the run folder or training started)', async () => {
  const t = await writeAcdcTree(join(tmp, 'cmd-truncated'));
  const bad = join(t.root, 'data', `${t.volumes[0]}.h5`);
  truncate(bad);
  const out = join(tmp, 'cmd-truncated-run');
  const r = runBench('train-acdc', ['--data', t.root, '--labeled', '1', '--iterations', '1', '--batch', '2', '--size', '32', '--out', out], { SRASEG_DEBUG: '' });
  assert.is(r.code, 2, r.stderr);
  assert.is(r.lines.length, 1, r.stderr);
  assert.match(r.lines[0], new RegExp(`^train-acdc: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: damaged HDF5 file \\(truncated file`));
  assert.not.ok(existsSync(out), 'no run folder was created');
});

test('train-acdc stops at start when the split cannot fill a batch (catches: a sampler error after the run folder exists)', async () => {
  const t = await writeAcdcTree(join(tmp, 'cmd-batch'));
  const out = join(tmp, 'cmd-batch-run');
  const r = runBench('train-acdc', ['--data', t.root, '--labeled', '2s', '--batch', '4', '--size', '32', '--out', out], { SRASEG_DEBUG: '' });
  assert.is(r.code, 2, r.stderr);
  assert.equal(r.lines, ['train-acdc: --batch 4: the labeled split has only 2 image(s); lower --batch or label more images']);
  assert.not.ok(existsSync(out));
});

// ---- weights files of the wrong model ----

const G_CONFIG = { zDim: 8, wDim: 8, imgResolution: 8, imgChannels: 1, mappingLayers: 1, channelBase: 64, channelMax: 8, convClamp: 256, seed: 1 };

async function writeGenerator(path: string): Promise<void> {
  const G = new E.StyleGAN2Generator(G_CONFIG);
  await E.saveNetwork(path, G, G_CONFIG, 0);
  G.dispose();
}

test('identifyWeights names UNets, StyleGAN2 files and DINOv2 from their keys (catches: a generator taken for an unknown model)', async () => {
  const unet = new E.UNet({ numClasses: 4 });
  assert.is(E.identifyWeights(unet.stateDict().keys()).kind, 'unet');
  unet.dispose();
  const G = new E.StyleGAN2Generator(G_CONFIG);
  const gKeys = [...G.stateDict().keys()];
  G.dispose();
  assert.is(E.identifyWeights(gKeys).kind, 'stylegan2-generator');
  assert.is(E.identifyWeights([...gKeys.map((k) => `G_ema.${k}`), 'D.b4.out.weight']).kind, 'stylegan2-checkpoint');
  assert.is(E.identifyWeights(['cls_token', 'patch_embed.proj.weight', 'blocks.0.attn.qkv.weight']).kind, 'dinov2');
  assert.equal(E.identifyWeights(['a.b', 'c']), { kind: null, name: 'weights of an unknown model (keys like a.b, c)' });
});

test('a generator given as a UNet checkpoint is named in one line, before and at loading (catches: an 8 KB list of missing and unexpected keys)', async () => {
  const path = join(tmp, 'G_ema.safetensors');
  await writeGenerator(path);
  const expected = `${path} holds a StyleGAN2 generator, not a UNet (expected keys like encoder.in_conv.conv_conv.0.weight)`;
  assert.throws(() => E.readUNetCheckpoint(path), (e: Error) => e instanceof E.UserError && e.message === expected);
  const unet = new E.UNet({ numClasses: 4 });
  try {
    assert.throws(() => E.loadUNetWeights(path, unet), (e: Error) => e instanceof E.UserError && e.message === expected);
    // The engine's own message, for any module, is a summary too.
    try {
      E.loadModule(path, unet);
      assert.unreachable('a generator loaded into a UNet');
    } catch (e) {
      assert.instance(e, E.StateDictMismatch);
      const m = e as E.StateDictMismatch;
      assert.ok(m.missingKeys.length > 50 && m.unexpectedKeys.length > 5, 'every key is still on the error');
      assert.ok(m.message.length < 600, `summarised, got ${m.message.length} characters`);
      assert.match(m.message, /^.*G_ema\.safetensors: loadStateDict \(UNet\): missing keys: encoder\.in_conv\.conv_conv\.0\.weight, [^,]+, [^,]+ and \d+ more\. unexpected keys: .* and \d+ more$/);
    }
  } finally {
    unet.dispose();
  }
});

test('a UNet of another class count or width is said so (catches: a 2-class fundus checkpoint evaluated as ACDC, a confusing shape list)', async () => {
  const path = join(tmp, 'unet2.safetensors');
  const two = new E.UNet({ numClasses: 2 });
  await E.saveModule(path, two);
  two.dispose();
  const ckpt = E.readUNetCheckpoint(path);
  assert.equal(ckpt.config, { inChannels: 1, features: [16, 32, 64, 128, 256], numClasses: 2 });
  assert.throws(() => E.checkUNetConfig(ckpt, { numClasses: 4 }, 'ACDC'), new RegExp(`^${path.replace(/[.]/g, '\\.')} is a UNet with 2 classes, ACDC needs 4: use a checkpoint trained on this data$`));
  const narrow = new E.UNet({ numClasses: 2, features: [8, 16, 32, 64, 128] });
  try {
    const expected = `${path} is a UNet with widths [16,32,64,128,256], 1 input channel(s), 2 classes, this UNet needs widths [8,16,32,64,128], 1 input channel(s), 2 classes: use a checkpoint of the same network settings`;
    assert.throws(() => E.loadUNetWeights(path, narrow), (e: Error) => e instanceof E.UserError && e.message === expected);
  } finally {
    narrow.dispose();
  }
});

test('eval-acdc and generate refuse the other model\'s file with exit 2 and one line (catches: stack traces for a wrong or corrupt checkpoint)', async () => {
  const root = join(tmp, 'eval-wrong');
  await writeAcdcTree(root, { slices: 0, volumes: 1, trainList: false });
  const g = join(tmp, 'G_ema.safetensors');
  const r = runBench('eval-acdc', ['--checkpoint', g, '--data', root], { SRASEG_DEBUG: '' });
  assert.is(r.code, 2, r.stderr);
  assert.equal(r.lines, [`eval-acdc: ${g} holds a StyleGAN2 generator, not a UNet (expected keys like encoder.in_conv.conv_conv.0.weight)`]);
  const corrupt = join(tmp, 'corrupt.safetensors');
  writeFileSync(corrupt, readFileSync(g).subarray(0, 100));
  const c = runBench('generate', ['--checkpoint', corrupt, '--count', '2', '--out', join(tmp, 'never')], { SRASEG_DEBUG: '' });
  assert.is(c.code, 2, c.stderr);
  assert.is(c.lines.length, 1, c.stderr);
  assert.match(c.lines[0], /^generate: .*corrupt\.safetensors: truncated or not a safetensors file/);
  assert.not.ok(existsSync(join(tmp, 'never')));
});

test('eval-acdc runs with only the listed volume present and writes its results (catches: evaluation requiring the training slices)', async () => {
  const root = join(tmp, 'eval-listed');
  const t = await writeAcdcTree(root, { slices: 0, volumes: 2, trainList: false });
  writeFileSync(join(root, 'test.list'), `${t.volumes[1]}\n`);
  const ckpt = join(tmp, 'unet4.safetensors');
  const unet = new E.UNet({ numClasses: 4, seed: 3 });
  await E.saveModule(ckpt, unet);
  unet.dispose();
  const out = join(tmp, 'eval-listed-out');
  const r = runBench('eval-acdc', ['--checkpoint', ckpt, '--data', root, '--list', 'test.list', '--size', '32', '--overlays', '1', '--out', out], { SRASEG_QUIET: '1' });
  assert.is(r.code, 0, r.stderr);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(results.volumes.map((v: { name: string }) => v.name), [t.volumes[1]]);
  assert.is(results.summary.volumes, 1);
});

// ---- images (fundus, synthetic slices) ----

function png(width: number, height: number, value = 128): Uint8Array {
  return E.encodePng({ width, height, channels: 1, data: new Uint8Array(width * height).fill(value) });
}

test('inspectImageBytes: size from the header, truncation from the end (catches: a cut PNG/GIF/TIFF accepted until it is decoded mid-run)', () => {
  const p = png(7, 5);
  assert.equal(E.inspectImageBytes(p, 'a.png'), { format: 'png', width: 7, height: 5 });
  throwsData(() => E.inspectImageBytes(p.subarray(0, p.length - 10), 'a.png'), 'a.png', /truncated PNG/);
  throwsData(() => E.inspectImageBytes(new TextEncoder().encode('hello world, not an image'), 'b.png'), 'b.png', /not a PNG, TIFF or GIF/);
  const drive = E.findDriveRoot();
  if (!drive) {
    console.log('preflight.test: DRIVE not found; the GIF/TIFF truncation checks run on PNG only');
    return;
  }
  for (const file of [join(drive, 'training', 'images', '21_training.tif'), join(drive, 'training', '1st_manual', '21_manual1.gif')]) {
    const bytes = readFileSync(file);
    const full = E.inspectImageBytes(bytes, file);
    const decoded = E.readImageFile(file);
    assert.equal([full.width, full.height], [decoded.width, decoded.height], `${file}: header size = decoded size`);
    throwsData(() => E.inspectImageBytes(bytes.subarray(0, Math.floor(bytes.length * 0.7)), file), file, /truncated (TIFF|GIF)/);
  }
});

test('FundusDataset.preflight finds a truncated or mis-sized mask (catches: an unreadable validation image found at the first validation)', () => {
  const root = join(tmp, 'fives');
  for (const part of ['Original', 'Ground truth']) mkdirSync(join(root, 'train', part), { recursive: true });
  for (const id of [1, 2, 3]) {
    writeFileSync(join(root, 'train', 'Original', `${id}_A.png`), png(16, 16));
    writeFileSync(join(root, 'train', 'Ground truth', `${id}_A.png`), png(16, 16, 255));
  }
  const open = () => E.FundusDataset.open({ root, labeled: 1, validation: 1, size: 16 });
  assert.not.throws(() => open().preflight());
  const mask = join(root, 'train', 'Ground truth', '3_A.png');
  writeFileSync(mask, png(16, 8));
  throwsData(() => open().preflight(), mask, /vessel mask is 16×8, the image 16×16/);
  writeFileSync(mask, png(16, 16).subarray(0, 40));
  throwsData(() => open().preflight(), mask, /truncated PNG/);
});

test('WithUnlabeled.preflight checks every synthetic slice (catches: a half-written generated PNG met mid-training)', async () => {
  const t = await writeAcdcTree(join(tmp, 'synthetic-base'));
  const folder = join(tmp, 'synthetic');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'seed0000.png'), png(8, 8));
  writeFileSync(join(folder, 'seed0001.png'), png(8, 8).subarray(0, 30));
  const data = await E.WithUnlabeled.open(await E.AcdcDataset.open({ root: t.root, labeled: { patients: 1 } }), folder);
  throwsData(() => data.preflight(), join(folder, 'seed0001.png'), /truncated PNG/);
});

test.run();
