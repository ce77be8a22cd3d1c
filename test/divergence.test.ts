// NaN/Inf detection without a read-back per step (kernels/finite.ts, src/train/divergence.ts) and
// what a diverged run does: stop with a DivergenceError naming the term and the iteration, exit 3 from
// a command, and never write non-finite weights (model_best, the checkpoint). Each test names the
// mistake it catches; each was made once by hand and seen to fail.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { tinyReals } from './tiny-runs.js';
import { describeFailure, EXIT_DIVERGED } from '../src/cli/runner.js';
import { runBench, tempDir } from './fixtures.js';
import { quiet, rejects } from './helpers.js';

const CLEAN = 0xffffffff;
const bits = (u: number[]) => new Float32Array(Uint32Array.from(u).buffer);

test('markNonFinite flags NaN (any payload), +Inf and −Inf, never a finite value, and keeps the earliest iteration (catches: an x != x test folded away, Inf missed, the last element skipped, a later iteration overwriting an earlier one)', async () => {
  const flags = E.tensor(new Uint32Array(4).fill(CLEAN), [4], 'u32');
  const big = new Float32Array(1000); // several workgroups; only the very last element is Inf
  big[999] = Infinity;
  const calls: [slot: number, x: Float32Array, iteration: number][] = [
    // Every finite extreme: the largest, the smallest normal, denormals, ±0.
    [0, Float32Array.from([3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38, 1e-45, -1e-45, 0, -0, 1, -7.5]), 1],
    [1, bits([0x3f800000, 0x7fc00000]), 10], // quiet NaN
    [2, bits([0xffc00001, 0, 0]), 10], // negative NaN with a payload, first element
    [3, bits([0x7f800001]), 10], // signalling NaN
    [3, bits([0x7f7fffff]), 2], // the largest finite value: no mark
    [0, big, 7],
    [0, Float32Array.from([-Infinity]), 5], // an earlier iteration wins
    [0, Float32Array.from([NaN]), 9], // a later one does not overwrite it
  ];
  for (const [slot, x, it] of calls) E.markNonFinite(E.tensor(x, [x.length]), flags, slot, it);
  // Reference: JavaScript's Number.isFinite on the same f32 values, the minimum iteration per slot.
  const want = new Array(4).fill(CLEAN);
  for (const [slot, x, it] of calls) if (x.some((v) => !Number.isFinite(v))) want[slot] = Math.min(want[slot], it);
  assert.equal(want, [5, 10, 10, 10]);
  assert.equal(Array.from(await flags.data()), want);
});

test('the watch names the quantity that went first: the earliest iteration, then loss → gradients → weights within it (catches: reporting the weights when the loss caused it, the last slot instead of the first iteration)', async () => {
  const w = E.tensor(Float32Array.from([1, 2]), [2]);
  w.requiresGrad = true;
  const opt = new E.SGD([w], { lr: 1 });
  const watch = new E.DivergenceWatch();
  watch.observe(opt, 'G');
  watch.iteration = 1;
  watch.term('G_loss', E.tensor(Float32Array.from([0.5]), [1]));
  assert.is(await watch.read(), null, 'all finite');
  watch.iteration = 4;
  w.grad = E.tensor(Float32Array.from([NaN, 0]), [2]); // a NaN gradient: the weight it updates goes NaN too
  opt.step();
  watch.term('G_loss', E.tensor(Float32Array.from([Infinity]), [1]));
  watch.iteration = 6;
  watch.term('D_loss', E.tensor(Float32Array.from([NaN]), [1]));
  assert.equal(await watch.read(), { term: 'G_loss', iteration: 4, alsoAtThatIteration: ['G gradients', 'G weights'] });
  watch.dispose();
  opt.step();
  assert.equal(opt.hooks, {}, 'dispose detaches the hooks');
  opt.dispose();
});

test('train-acdc --lr 1e6: exit 3 with one line naming the term and the iteration, and no model_best at all (catches: exit 0 with a NaN model_best because the first validation always "improves" on −1)', () => {
  const out = join(tempDir('diverge'), 'run');
  // The loss goes NaN at iteration 3 (seed 1337); the first validation is at 3 and the first loss
  // read-back at 5, so the watch must stop the run at that validation, before it saves anything.
  const r = runBench('train-acdc', ['--size', '32', '--batch', '2', '--iterations', '6', '--val-every', '3', '--log-every', '5', '--val-volumes', '1', '--lr', '1e6', '--out', out], { SRASEG_QUIET: '1', SRASEG_DEBUG: '' });
  assert.is(r.code, 3, r.stderr);
  assert.is(
    r.lines.at(-1),
    'train-acdc: training diverged: loss became non-finite (NaN or Inf) at iteration 3 (at the same iteration: gradients, weights); stopped at iteration 3, ' +
      'no checkpoint was written. Lower the learning rate (--lr), or continue from the checkpoint with other flags (--resume --allow-config-change)',
  );
  for (const f of ['model_best.safetensors', 'model_last.safetensors', E.CHECKPOINT_FILE]) assert.not.ok(existsSync(join(out, f)), `no ${f}`);
  assert.equal(readFileSync(join(out, 'log.jsonl'), 'utf8'), '', 'no validation ran on the diverged weights, no row was due');
});

test('a diverged run keeps its last finite checkpoint and exports (catches: a validation, checkpoint or model_last written after the divergence)', () => {
  const out = join(tempDir('diverge-late'), 'run');
  const r = runBench('train-acdc', ['--size', '32', '--batch', '2', '--iterations', '6', '--val-every', '2', '--log-every', '5', '--val-volumes', '1', '--lr', '1e6', '--out', out], { SRASEG_QUIET: '1', SRASEG_DEBUG: '' });
  assert.is(r.code, 3, r.stderr);
  assert.match(r.lines.at(-1)!, /at iteration 3 .*; stopped at iteration 4, nothing was saved after iteration 2 \(its checkpoint is intact\)/);
  assert.is(E.readCheckpointInfo(join(out, E.CHECKPOINT_FILE), 'unet-stage').iteration, 2);
  for (const f of ['model_best.safetensors', 'model_last.safetensors', E.CHECKPOINT_FILE]) {
    assert.is(E.firstNonFinite(E.loadSafetensors(join(out, f)).tensors), null, f);
  }
  assert.is(E.readSafetensorsMetadata(join(out, 'model_last.safetensors')).iteration, '2');
  const vals = readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((x) => x.val);
  assert.equal(vals.map((v) => v.iteration), [2], 'no validation ran on the diverged weights');
});

test('StyleGAN2 with an absurd learning rate stops with a DivergenceError naming the term and the step; G_ema never holds a non-finite weight', async () => {
  const dir = join(tempDir('diverge-gan'), 'run');
  const reals = tinyReals();
  const cfg: E.StyleGanTrainConfig = {
    ...E.STYLEGAN_TRAIN_DEFAULTS, out: dir, resume: false, seed: 5, kimg: 0.032, batch: 4, zDim: 8, wDim: 8, mappingLayers: 2, channelBase: 64, channelMax: 8,
    r1Gamma: 0.5, r1Interval: 2, plWeight: 0, emaKimg: 0.01, augment: 'none', snapshotKimg: 0.008, logEvery: 4, gridImages: 4, lr: 1e30,
  };
  const e = await rejects(() => quiet(() => E.trainStyleGAN(reals, cfg)), /^training diverged: .* became non-finite \(NaN or Inf\) at step \d+/);
  assert.instance(e, E.DivergenceError);
  const d = e as E.DivergenceError;
  assert.ok(/^(G_loss|G_pl|D_loss_fake|D_loss_real|D_real_logit|D_r1|[GD] gradients|[GD] weights)$/.test(d.term), d.term);
  if (existsSync(join(dir, 'G_ema.safetensors'))) assert.is(E.firstNonFinite(E.loadSafetensors(join(dir, 'G_ema.safetensors')).tensors), null);
  if (existsSync(join(dir, E.CHECKPOINT_FILE))) assert.ok(E.readCheckpointInfo(join(dir, E.CHECKPOINT_FILE), 'stylegan2').iteration < d.iteration);
});

test('runner: a DivergenceError exits 3 with one line (catches: divergence reported as a bug with a stack, or as exit 0)', () => {
  const f = describeFailure('train-acdc', new E.DivergenceError('loss', 3, 'training diverged: loss …'), false);
  assert.equal(f, { code: EXIT_DIVERGED, text: 'train-acdc: training diverged: loss …' });
  assert.is(EXIT_DIVERGED, 3);
});

test.run();
