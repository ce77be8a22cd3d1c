// Runs that never lose work: a training run killed at any point — between the files a checkpoint
// writes included — and resumed logs exactly the losses of an uninterrupted run of the same seed.
// The kill points are src/train/crash-points.ts's labels (SRASEG_TEST_KILL_AT=<label>@<n> makes the
// process SIGKILL itself there, as kill -9 would). Mistakes these catch (each made once by hand):
// - the log not cut back on resume (iterations logged twice: the loss lists differ in length);
// - a resume that does not remove the temporary file a killed atomic write left;
// - exports not rewritten from the checkpoint on resume (a kill between model_last and model_best
//   leaves a stale model_best, which self-training then starts from: its losses differ);
// - state that the checkpoint misses (RNG, sampler, optimiser: the losses after the resume differ).
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { tinyPhantom, tinyReals, tinySemi, tinyStyleGan } from './tiny-runs.js';
import { tempDir } from './fixtures.js';
import { quiet, rejects } from './helpers.js';

type Row = Record<string, unknown>;
const logRows = (path: string): Row[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
/** What must not depend on interruptions: every logged loss and validation, in order (not the clock or memory). */
const trajectory = (path: string) => logRows(path).map((r) => (r.val ? { iteration: r.iteration, val: r.val } : { iteration: r.iteration, loss: r.loss, sa: r.sa }));
const tensorsOf = (path: string) => [...E.loadSafetensors(path).tensors].map(([k, t]) => [k, Array.from(t.data as Float32Array)]);
const tmpFiles = (dir: string) => readdirSync(dir).filter((f) => /\.tmp-\d+$/.test(f));

// The supervised command on the phantom, 6 iterations, validation (and checkpoint) every 2.
const ARGS = ['--size', '32', '--batch', '2', '--iterations', '6', '--val-every', '2', '--log-every', '1', '--val-volumes', '1'];

function trainAcdc(out: string, extra: string[], killAt?: string) {
  const env = { ...process.env, SRASEG_QUIET: '1', SRASEG_TEST_KILL_AT: killAt ?? '' };
  return spawnSync(process.execPath, ['bench/train-acdc.js', ...ARGS, '--out', out, ...extra], { encoding: 'utf8', env, timeout: 300_000 });
}

test('kill -9 at several points (after a log row, with the checkpoint half-written, between the checkpoint and the exports, between two exports) and resume: every logged loss equals an uninterrupted run', async () => {
  const dir = tempDir('kill');
  // The uninterrupted run: the same trainer with the command's config, in this process.
  const straight = join(dir, 'straight');
  await quiet(() =>
    E.trainSupervised(new E.PhantomDataset({ seed: 1337, size: 32, trainSlices: 120, valVolumes: 4 }), {
      iterations: 6, batch: 2, lr: 0.01, momentum: 0.9, weightDecay: 1e-4, seed: 1337, size: 32, valEvery: 2, valLimit: 1, valSplit: 'all', logEvery: 1, out: straight, resume: false,
    }),
  );
  const out = join(dir, 'killed');
  const steps: [string[], string, (what: string) => void][] = [
    // Killed after logging iteration 3: the checkpoint is at 2.
    [[], 'log@3', () => assert.is(logRows(join(out, 'log.jsonl')).at(-1)!.iteration, 3)],
    // Resumed at 2 (row 3 cut), killed with the checkpoint of iteration 4 complete in its temporary file.
    [['--resume'], 'checkpoint-tmp@1', (what) => assert.is(tmpFiles(out).length, 1, `${what}: the temporary checkpoint is left`)],
    // Resumed at 2 again (temporary file removed, rows 3–4 cut), killed with checkpoint 4 in place and no exports of 4.
    [['--resume'], 'checkpoint@1', (what) => {
      assert.is(E.readCheckpointInfo(join(out, E.CHECKPOINT_FILE), 'unet-stage').iteration, 4, what);
      assert.is(E.readSafetensorsMetadata(join(out, 'model_last.safetensors')).iteration, '2', `${what}: model_last is behind the checkpoint`);
    }],
    // Resumed at 4 (exports rewritten: 1 model_last, 2 model_best), trained to 6, killed after the third export (model_last of 6).
    [['--resume'], 'export@3', (what) => assert.is(E.readSafetensorsMetadata(join(out, 'model_last.safetensors')).iteration, '6', what)],
  ];
  for (const [extra, killAt, check] of steps) {
    const r = trainAcdc(out, extra, killAt);
    assert.is(r.signal, 'SIGKILL', `killed at ${killAt} (exit ${r.status}): ${r.stderr}`);
    check(`after the kill at ${killAt}`);
  }
  const last = trainAcdc(out, ['--resume']);
  assert.is(last.status, 0, last.stderr);
  assert.equal(tmpFiles(out), [], 'no temporary file is left');
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')), JSON.parse(readFileSync(join(straight, 'config.json'), 'utf8')), 'the same run');
  const want = trajectory(join(straight, 'log.jsonl'));
  assert.is(want.filter((r) => r.loss !== undefined).length, 6);
  assert.equal(trajectory(join(out, 'log.jsonl')), want, 'every logged loss and validation, each once');
  for (const f of ['model_last.safetensors', 'model_best.safetensors', E.CHECKPOINT_FILE]) assert.equal(tensorsOf(join(out, f)), tensorsOf(join(straight, f)), f);
});

/** A validator whose Dice grows with the training done (the dropout stream's offset): every validation is a new best. */
const growingDice: E.Validator = async (model) => {
  const d = 1 - 1 / (1 + model.generator.state().offset / 1e6);
  return { volumes: [], report: {} as never, summary: { meanDice: d, meanHd95: null, perClassDice: [d] } };
};

const semi = (out: string, resume = false) => tinySemi(out, 'bcp', { preIterations: 4, selfIterations: 2, resume, validate: growingDice });

test('bcp: a crash between model_last and model_best at the end of pre-training, then resume: self-training starts from the right best student', async () => {
  const dir = tempDir('crash-semi');
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), semi(join(dir, 'straight'))));
  const out = join(dir, 'crashed');
  // Pre-training exports at 2 (model_last, model_best) and at 4: stop after the 3rd (model_last of 4).
  let exports = 0;
  E.onCrashPoint((label) => {
    if (label === 'export' && ++exports === 3) throw new Error('crash between exports');
  });
  try {
    await rejects(() => quiet(() => E.trainSemiSupervised(tinyPhantom(), semi(out))), /crash between exports/);
  } finally {
    E.onCrashPoint(null);
  }
  assert.is(E.readSafetensorsMetadata(join(out, 'pretrain/model_best.safetensors')).iteration, '2', 'model_best is behind the checkpoint (best at 4)');
  await quiet(() => E.trainSemiSupervised(tinyPhantom(), semi(out, true)));
  assert.is(E.readSafetensorsMetadata(join(out, 'pretrain/model_best.safetensors')).iteration, '4');
  for (const stage of ['pretrain', 'selftrain']) assert.equal(trajectory(join(out, stage, 'log.jsonl')), trajectory(join(dir, 'straight', stage, 'log.jsonl')), stage);
  assert.equal(tensorsOf(join(out, 'selftrain/teacher_last.safetensors')), tensorsOf(join(dir, 'straight/selftrain/teacher_last.safetensors')));
});

const gan = (out: string, resume = false) => tinyStyleGan(out, { resume });
const ganRows = (dir: string) => logRows(join(dir, 'log.jsonl')).map(({ images_per_s: _, liveBytes: _b, liveBuffers: _n, peakBytes: _p, ...r }) => r);

test('StyleGAN2: a crash with the second checkpoint half-written, then resume: the same rows as an uninterrupted run, no temporary file left', async () => {
  const dir = tempDir('crash-gan');
  await quiet(() => E.trainStyleGAN(tinyReals(), gan(join(dir, 'straight'))));
  const out = join(dir, 'crashed');
  let checkpoints = 0;
  E.onCrashPoint((label) => {
    if (label === 'checkpoint-tmp' && ++checkpoints === 2) throw new Error('crash before the rename');
  });
  try {
    await rejects(() => quiet(() => E.trainStyleGAN(tinyReals(), gan(out))), /crash before the rename/);
  } finally {
    E.onCrashPoint(null);
  }
  assert.is(tmpFiles(out).length, 1);
  // As left by another process (this one would reuse the name, its pid, and hide a missing clean-up).
  renameSync(join(out, tmpFiles(out)[0]), join(out, `${E.CHECKPOINT_FILE}.tmp-999999999`));
  assert.ok(ganRows(out).some((r) => r.step === 4), 'the log ran ahead of the checkpoint (step 2)');
  await quiet(() => E.trainStyleGAN(tinyReals(), gan(out, true)));
  assert.equal(tmpFiles(out), []);
  assert.equal(ganRows(out), ganRows(join(dir, 'straight')));
  for (const f of ['G_ema.safetensors', E.CHECKPOINT_FILE]) assert.equal(tensorsOf(join(out, f)), tensorsOf(join(dir, 'straight', f)), f);
  // The folder rules hold for this trainer too.
  await rejects(() => E.trainStyleGAN(tinyReals(), gan(out)), /already holds a run/);
  await rejects(() => E.trainStyleGAN(tinyReals(), { ...gan(out, true), lr: 0.1 }), /the flags differ from the run's .*config\.json: lr 0\.0025 → 0\.1/);
  const empty = tempDir('crash-gan-empty');
  await rejects(() => E.trainStyleGAN(tinyReals(), gan(empty, true)), /holds no checkpoint\.safetensors/);
});

test.run();
