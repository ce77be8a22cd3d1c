import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as E from '../src/index.js';
import { tinyPhantom, tinySemi } from './tiny-runs.js';
import { quiet } from './helpers.js';
import { tempDir } from './fixtures.js';



const config = (out: string, method: E.SemiMethod, resume = false, selfIterations = 4) => tinySemi(out, method, { resume, selfIterations });

const losses = (p: string) =>
  readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.loss !== undefined).map((r) => r.loss as number);

for (const method of ['bcp', 'sra-seg'] as const) {
  test(`${method}: pre-train then self-train run end to end, with finite losses, checkpoints and the teacher saved`, async () => {
    const dir = tempDir(method);
    const { pre, self } = await quiet(() => E.trainSemiSupervised(tinyPhantom(), config(dir, method)));
    assert.ok(pre!.bestDice >= 0 && self.bestDice >= 0);
    for (const f of ['pretrain/model_best.safetensors', 'selftrain/model_last.safetensors', 'selftrain/teacher_last.safetensors', 'selftrain/curves.png']) {
      assert.ok(existsSync(`${dir}/${f}`), f);
    }
    const l = losses(`${dir}/selftrain/log.jsonl`);
    assert.is(l.length, 4);
    assert.ok(l.every(Number.isFinite), `finite losses ${l}`);
  });
}

test('--init with 0 pre-training iterations self-trains from the given weights, as after pre-training', async () => {
  const dir = tempDir('init');
  // A fresh optimiser in both runs: --init brings weights only, no optimiser state to reload.
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), { ...config(`${dir}/full`, 'bcp'), reloadOptimizer: false }));
  const { pre } = await quiet(() =>
    E.trainSemiSupervised(tinyPhantom(), { ...config(`${dir}/init`, 'bcp'), preIterations: 0, init: `${dir}/full/pretrain/model_best.safetensors` }),
  );
  assert.is(pre, null);
  assert.not.ok(existsSync(`${dir}/init/pretrain`), 'no pre-training stage');
  assert.equal(losses(`${dir}/init/selftrain/log.jsonl`), losses(`${dir}/full/selftrain/log.jsonl`));
});

test('sra-seg self-training resumes exactly', async () => {
  const dir = tempDir('resume');
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), config(`${dir}/straight`, 'sra-seg')));
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), config(`${dir}/split`, 'sra-seg', false, 2)));
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), config(`${dir}/split`, 'sra-seg', true, 4)));
  assert.equal(losses(`${dir}/split/selftrain/log.jsonl`), losses(`${dir}/straight/selftrain/log.jsonl`));
  const a = E.loadSafetensors(`${dir}/straight/selftrain/teacher_last.safetensors`).tensors;
  const b = E.loadSafetensors(`${dir}/split/selftrain/teacher_last.safetensors`).tensors;
  for (const [k, t] of a) assert.equal(Array.from(b.get(k)!.data as Float32Array), Array.from(t.data as Float32Array), k);
});

test('asking for the SA loss without DINOv2 weights is a clear error', async () => {
  try {
    await E.trainSemiSupervised(tinyPhantom(), { ...config('/tmp/x', 'sra-seg'), sa: true });
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, /needs DINOv2 weights: pass --dinov2 <file>.*--no-sa/);
  }
});

test('sra-seg with the SA term (default prediction mode, a tiny random DINOv2 from a file) trains and logs it', async () => {
  const dir = tempDir('sa');
  // Width 64 with one head: the loader infers heads as width / 64, as for every released DINOv2.
  const vit = new E.Dinov2(
    { embedDim: 64, depth: 1, numHeads: 1, patchSize: 14, pretrainGrid: 2, numRegisters: 0, ffn: 'mlp', ffnHidden: 128, interpolateOffset: 0.1, interpolateAntialias: false, inChannels: 3 },
    5,
  );
  await E.saveModule(`${dir}/dinov2.safetensors`, vit);
  vit.dispose();
  await quiet(() =>
    E.trainSemiSupervised(tinyPhantom(), { ...config(`${dir}/run`, 'sra-seg', false, 2), sa: true, dinov2: `${dir}/dinov2.safetensors`, vitSize: 28 }),
  );
  const rows = readFileSync(`${dir}/run/selftrain/log.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.sa !== undefined);
  assert.is(rows.length, 2);
  assert.ok(rows.every((r) => r.sa > 0 && Number.isFinite(r.sa)), JSON.stringify(rows));
  // Only the student and its teacher are saved: the SA term has no trainable parts.
  assert.equal(readdirSync(`${dir}/run/selftrain`).filter((f) => f.endsWith('_last.safetensors')).sort(), ['model_last.safetensors', 'teacher_last.safetensors']);
});

// Mistakes this catches (each made once by hand): self-training starting a fresh SGD by default (the
// step counts are 2, not 4); the state kept at another validation than the best (here the only
// validation is the best, so the kept state must equal the stage's last one); --no-reload-optimizer
// ignored.
test('self-training starts from the optimiser state of the best pre-training checkpoint (published), or fresh', async () => {
  const dir = tempDir('opt');
  const checkpoint = (run: string, stage: string) => E.readCheckpoint(`${dir}/${run}/${stage}/${E.CHECKPOINT_FILE}`, 'unet-stage');
  const stepsOf = (run: string) => checkpoint(run, 'selftrain').optimizers.optimizer.state.map((st) => st!.step);
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), { ...config(`${dir}/reload`, 'bcp'), selfIterations: 2 }));
  // Two pre-training steps, validated once (at 2): that validation is the best, and the checkpoint's
  // own optimiser state is of the same moment.
  const pre = checkpoint('reload', 'pretrain');
  const best = pre.optimizers['best.optimizer'];
  const last = pre.optimizers.optimizer;
  assert.ok(best, 'the pre-training checkpoint keeps the best optimiser state');
  assert.is(best.state.length, last.state.length);
  best.state.forEach((st, i) => {
    assert.is(st!.step, 2);
    assert.equal(Array.from(st!.slots.momentum_buffer), Array.from(last.state[i]!.slots.momentum_buffer), `parameter ${i}`);
  });
  // After two self-training steps: 2 + 2 steps on the reloaded state, 2 on a fresh one.
  assert.ok(stepsOf('reload').every((n) => n === 4), `reloaded: ${stepsOf('reload')}`);
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), { ...config(`${dir}/fresh`, 'bcp'), selfIterations: 2, reloadOptimizer: false }));
  assert.ok(stepsOf('fresh').every((n) => n === 2), `fresh: ${stepsOf('fresh')}`);
});

test.run();
