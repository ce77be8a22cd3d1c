// Memory stays flat as the trainers really run: live buffers and live bytes after step 2 equal those
// after step N (logged in every trainer's log.jsonl), and everything a run allocated is freed when it
// returns. The bodies run with no scope around them (`rawTest`), as from the command line, so strict
// ownership (on in every test) also refuses any allocation a trainer makes outside its own scopes.
// Mistakes these catch (each made once by hand): the EMA teacher's forward outside a scope (75
// buffers a call, the bug this file was written for); validation leaking its logits; a StyleGAN2
// snapshot's G.forward outside a scope; a step that keeps its loss without the loop freeing it.
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as E from '../src/index.js';
import { tinyPhantom, tinyReals, tinySemi, tinySupervised, tinyStyleGan } from './tiny-runs.js';
import { rawTest as test } from './harness.js';
import { quiet } from './helpers.js';
import { writeDriveFixture } from './fundus-fixtures.js';
import { tempDir } from './fixtures.js';

type Row = Record<string, number>;
const rows = (path: string): Row[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row)
    .filter((r) => r.liveBytes !== undefined);

/** Rows from the second on hold the same live buffers and bytes; returns the first and last of them. */
function assertFlat(path: string, what: string, minRows = 3): void {
  const r = rows(path);
  assert.ok(r.length >= minRows, `${what}: ${r.length} rows with memory figures in ${path}`);
  const steady = r.slice(1).map((x) => [x.liveBuffers, x.liveBytes]);
  assert.equal(steady, steady.map(() => steady[0]), `${what}: live [buffers, bytes] per logged step ${JSON.stringify(steady)}`);
  assert.ok(r.every((x) => x.peakBytes >= x.liveBytes && x.liveBytes > 0), `${what}: peak ≥ live > 0`);
}

const live = () => E.memoryStats().liveBuffers;

const semi = (out: string, method: E.SemiMethod, over: Partial<E.SemiConfig> = {}) => tinySemi(out, method, { preIterations: 3, selfIterations: 5, ...over });

test('supervised: flat over 5 steps with validation in between, all freed at the end', async () => {
  const dir = tempDir('flat-sup');
  const before = live();
  await quiet(() => E.trainSupervised(tinyPhantom(), tinySupervised(dir, { seed: 9, iterations: 5 })));
  assertFlat(`${dir}/log.jsonl`, 'supervised');
  assert.is(live(), before, 'the run freed everything');
});

for (const method of ['bcp', 'sra-seg'] as const) {
  test(`${method}: pre-training and self-training (teacher pseudo-labels twice a step) are flat`, async () => {
    const dir = tempDir(`flat-${method}`);
    const before = live();
    await quiet(() => E.trainSemiSupervised(tinyPhantom(), semi(dir, method)));
    assertFlat(`${dir}/pretrain/log.jsonl`, `${method} pre-training`);
    assertFlat(`${dir}/selftrain/log.jsonl`, `${method} self-training`, 4);
    assert.is(live(), before, 'the run freed everything');
  });
}

test('sra-seg with SA in every mode (a tiny random DINOv2) is flat', async () => {
  const dir = tempDir('flat-sa');
  const vit = E.tidy(
    () =>
      new E.Dinov2(
        { embedDim: 64, depth: 1, numHeads: 1, patchSize: 14, pretrainGrid: 2, numRegisters: 0, ffn: 'mlp', ffnHidden: 128, interpolateOffset: 0.1, interpolateAntialias: false, inChannels: 3 },
        5,
      ),
  );
  await E.saveModule(`${dir}/dinov2.safetensors`, vit);
  vit.dispose();
  const before = live();
  for (const saMode of ['features', 'prediction', 'published'] as const) {
    await quiet(() =>
      E.trainSemiSupervised(tinyPhantom(), semi(`${dir}/${saMode}`, 'sra-seg', { preIterations: 0, sa: true, saMode, dinov2: `${dir}/dinov2.safetensors`, vitSize: 28 })),
    );
    assertFlat(`${dir}/${saMode}/selftrain/log.jsonl`, `SA ${saMode}`, 4);
  }
  assert.is(live(), before, 'the runs freed everything');
});

test('fundus trainer (per-image validation inside the FOV) is flat', async () => {
  const root = tempDir('flat-fundus');
  writeDriveFixture(root, [1, 2, 3, 4, 5, 6], 21, 19);
  const data = E.FundusDataset.open({ root, labeled: 2, validation: 2, size: 32 });
  const validate: E.Validator = (model, names) => E.evaluateFundus(model, data, names);
  const before = live();
  await quiet(() => E.trainSupervised(data, tinySupervised(`${root}/sup`, { seed: 9, iterations: 5, validate })));
  assertFlat(`${root}/sup/log.jsonl`, 'fundus supervised');
  assert.is(live(), before, 'the run freed everything');
});

test('StyleGAN2-ADA training with snapshots and FD is flat; generation and evaluation free what they make', async () => {
  const dir = tempDir('flat-gan');
  const unet = E.tidy(() => new E.UNet({ numClasses: 4, seed: 1 }));
  await E.saveModule(`${dir}/unet.safetensors`, unet);
  const measure = E.ganFeatureNetwork({ unet: `${dir}/unet.safetensors`, unetSize: 32 })!;
  const reals = tinyReals();
  const before = live();
  await quiet(() =>
    E.trainStyleGAN(
      reals,
      tinyStyleGan(`${dir}/gan`, { kimg: 0.024 /* 6 minibatches of 4 */, fdImages: 8 }),
      measure,
    ),
  );
  // The regularised phases run every 2nd minibatch: compare like with like (steps 2, 4, 6).
  const even = rows(`${dir}/gan/log.jsonl`).filter((r) => r.step % 2 === 0);
  assert.is(even.length, 3);
  assert.equal(even.map((r) => [r.liveBuffers, r.liveBytes]), even.map(() => [even[0].liveBuffers, even[0].liveBytes]), 'GAN steps 2, 4, 6');
  assert.is(live(), before, 'training freed everything');

  const G = E.loadGenerator(`${dir}/gan/G_ema.safetensors`);
  const afterLoad = live();
  for (let i = 0; i < 2; i++) await E.generateSlices(G, { seeds: [1, 2, 3], out: `${dir}/gen${i}`, batch: 2 });
  assert.is(live(), afterLoad, 'generation freed what it made');
  G.dispose();

  const data = tinyPhantom();
  const model = E.tidy(() => new E.UNet({ numClasses: 4, seed: 1 }).eval());
  const atEval = live();
  for (let i = 0; i < 2; i++) await E.evaluateVolumes(model, data, [...data.valVolumes], 32);
  assert.is(live(), atEval, 'evaluation freed what it made');
  model.dispose();
  unet.dispose();
  measure.dispose();
});

test('models and the teacher are safe to call outside any scope: only their outputs stay alive', async () => {
  // Inputs are made in a scope and handed out; the calls themselves run where no scope is open, so
  // strict ownership would refuse any intermediate they left unowned, and live buffers may grow by
  // their outputs only. (Before: EmaTeacher.pseudoLabels kept 75 buffers alive per call.)
  const atStart = live();
  const student = new E.UNet({ numClasses: 4, seed: 1, features: [4, 8, 8, 8, 8] });
  const teacher = E.EmaTeacher.forUNet(student);
  const x = E.tidy(() => E.rand([2, 1, 32, 32], new E.Generator(3)));
  const before = live();
  for (let i = 0; i < 3; i++) {
    const p = await teacher.pseudoLabels(x, { largestComponent: true });
    assert.is(live(), before + 2, `call ${i}: labels and one-hot only`);
    p.labels.dispose();
    p.oneHot.dispose();
    const logits = E.noGrad(() => student.forward(x));
    assert.is(live(), before + 1, `call ${i}: the logits only`);
    logits.dispose();
    const G = E.tidy(() => new E.StyleGAN2Generator({ zDim: 8, wDim: 8, imgResolution: 8, imgChannels: 1, mappingLayers: 2, channelBase: 64, channelMax: 8, convClamp: 256, seed: 1 }));
    const atG = live();
    const z = E.tidy(() => E.randn([2, 8], new E.Generator(4)));
    const img = E.noGrad(() => G.forward(z, { noiseMode: 'const' }));
    assert.is(live(), atG + 2, `call ${i}: z and the image only`);
    for (const t of [z, img]) t.dispose();
    G.dispose();
  }
  for (const m of [teacher, student]) m.dispose();
  x.dispose();
  assert.is(live(), atStart, 'constructing and disposing the models left nothing behind');
});

test.run();
