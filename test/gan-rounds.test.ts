// A StyleGAN2 minibatch in rounds (batchGpu, src/gan/phases.ts): the gradient each phase hands its
// optimiser must be the one-pass minibatch's, and the logged losses its means. Compared phase by phase
// on two identically seeded set-ups, one pass of 4 against rounds of 2 and of 1, with what would make
// rounds legitimately differ switched off: minibatch-std groups of one image (groups form within a
// round), no augmentation, no style mixing (a host draw per round). The noise strengths start at
// zero, so the random noise (drawn per round) changes no forward value; only the noise strengths'
// own gradients depend on it, and they are left out.
// Catches: a round's loss not scaled by 1/rounds (gradients ×rounds), every round seeing the whole
// minibatch, rounds that reuse one latent slice, R1 or the logged means computed per round only.
import { existsSync, readFileSync } from 'node:fs';
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';
import { tinyReals, tinyStyleGan } from './tiny-runs.js';
import { assertClose, quiet } from './helpers.js';
import { runBench, tempDir } from './fixtures.js';

const BATCH = 4;

/** The phases of a fresh tiny run (same seeds every time) whose optimisers record the gradients of a step instead of taking it. */
function setUp(batchGpu: number) {
  const cfg = tinyStyleGan('/unused', { batch: BATCH, batchGpu, mbstdGroupSize: 1, augment: 'none', styleMixingProb: 0 });
  const reals = tinyReals();
  const { G, D, G_ema } = E.buildStyleGanNetworks(cfg, reals.resolution);
  const recorder = (m: E.Module) => {
    const named = m.namedParameters().filter(([name]) => !name.endsWith('noise_strength'));
    const opt = {
      steps: [] as Map<string, E.Tensor>[],
      zeroGrad: () => {
        for (const p of m.parameters()) {
          p.grad?.dispose();
          p.grad = null;
        }
      },
      step: () => void opt.steps.push(new Map(named.filter(([, p]) => p.grad).map(([name, p]) => [name, E.keep(E.tidy(() => E.add(p.grad!, 0)))]))),
    };
    return opt;
  };
  const optG = recorder(G);
  const optD = recorder(D);
  const loss = new E.StyleGAN2Loss(G, D, null, cfg, new E.Generator(41), new E.SeededRng(42));
  const phases = new E.StyleGanPhases({ cfg, G, D, G_ema, optG: optG as unknown as E.Adam, optD: optD as unknown as E.Adam, loss, augment: null, ada: null, reals });
  const dispose = () => {
    for (const opt of [optG, optD]) for (const step of opt.steps) for (const t of step.values()) t.dispose();
    for (const m of [G, D, G_ema]) m.dispose();
  };
  return { phases, reals, optG, optD, G, D, dispose };
}

/** Gmain, then Dmain and R1 on one minibatch of reals: each phase's gradients (host copies) and the logged scalars. */
async function phaseGradients(batchGpu: number) {
  const s = setUp(batchGpu);
  try {
    const logs: Record<string, E.Tensor> = {};
    for (const p of s.D.parameters()) p.requiresGrad = false;
    s.phases.generatorMain(logs);
    for (const p of s.D.parameters()) p.requiresGrad = true;
    for (const p of s.G.parameters()) p.requiresGrad = false;
    const real = s.phases.rounds(s.reals.next(BATCH));
    assert.is(real.length, BATCH / batchGpu, 'one tensor per round');
    for (const r of real) assert.is(r.shape[0], batchGpu);
    s.phases.discriminatorMain(real, logs);
    s.phases.discriminatorRegularisation(real, logs);
    const host = async (m: Map<string, E.Tensor>) => new Map(await Promise.all([...m].map(async ([k, t]) => [k, await t.data()] as const)));
    const scalars: Record<string, number> = {};
    for (const [k, t] of Object.entries(logs)) scalars[k] = (await t.data())[0];
    return { G: await host(s.optG.steps[0]), Dmain: await host(s.optD.steps[0]), R1: await host(s.optD.steps[1]), scalars };
  } finally {
    s.dispose();
  }
}

test('rounds of 2 and of 1 hand each optimiser the one-pass gradient of the minibatch, and log its means', async () => {
  const whole = await phaseGradients(BATCH);
  for (const batchGpu of [2, 1]) {
    const rounds = await phaseGradients(batchGpu);
    for (const phase of ['G', 'Dmain', 'R1'] as const) {
      assert.equal([...rounds[phase].keys()], [...whole[phase].keys()], `${phase}: the same parameters get gradients`);
      assert.ok(whole[phase].size > 4, `${phase}: gradients recorded`);
      for (const [name, g] of whole[phase]) assertClose(rounds[phase].get(name)!, g, 2e-4, 1e-6, `batchGpu ${batchGpu}, ${phase} gradient of ${name}`);
    }
    assert.equal(Object.keys(rounds.scalars).sort(), Object.keys(whole.scalars).sort());
    for (const [k, v] of Object.entries(whole.scalars)) assertClose([rounds.scalars[k]], [v], 2e-4, 1e-6, `batchGpu ${batchGpu}: logged ${k}`);
  }
});

test('a run in rounds trains, checkpoints and records batchGpu; a batchGpu that cannot split the batch is refused', async () => {
  const dir = tempDir('gan-rounds');
  const cfg = tinyStyleGan(dir, { batchGpu: 2, kimg: 0.008 }); // 2 minibatches of 4, in rounds of 2, every phase
  const result = await quiet(() => E.trainStyleGAN(tinyReals(), cfg));
  assert.ok(result.snapshots.length >= 2);
  assert.is(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')).batchGpu, 2);
  const rows = readFileSync(`${dir}/log.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.G_loss !== undefined);
  for (const r of rows) for (const k of ['G_loss', 'D_loss_fake', 'D_loss_real']) assert.ok(Number.isFinite(r[k]), `${k} at step ${r.step}`);
  assert.ok(rows.some((r) => Number.isFinite(r.G_pl)) && rows.some((r) => Number.isFinite(r.D_r1)), 'path length and R1 ran in rounds');
  assert.is(E.checkBatchGpu(16, 3, 4), 'must divide the batch of 16 into equal rounds: one of 1, 2, 4, 8, 16');
  assert.match(E.checkBatchGpu(12, 6, 4)!, /minibatch-std groups of 4 need it below 4 or a multiple of it/);
  assert.is(E.checkBatchGpu(16, 2, 4), null);
  assert.is(E.checkBatchGpu(16, undefined, 4), null);
  const refused = `${dir}/refused`;
  try {
    await quiet(() => E.trainStyleGAN(tinyReals(), tinyStyleGan(refused, { batchGpu: 3 })));
    assert.unreachable('batchGpu 3 of a batch of 4 was accepted');
  } catch (e) {
    assert.instance(e, E.UserError);
    assert.match((e as Error).message, /^batchGpu 3: must divide the batch of 4 into equal rounds: one of 1, 2, 4$/);
  }
  assert.not.ok(existsSync(refused), 'refused before the run folder was made');
  const bad = runBench('train-stylegan', ['--batch', '16', '--batch-gpu', '3', '--out', `${dir}/never`]);
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr.trim(), /^train-stylegan: --batch-gpu 3: must divide the batch of 16 into equal rounds: one of 1, 2, 4, 8, 16$/);
});

// Catches: the buffer-limit error passed on without the fix, a suggestion that does not divide the
// batch or breaks the minibatch-std groups, or one that would still not fit.
test('a pass too large for one buffer is answered with the rounds that would fit', () => {
  const cfg = tinyStyleGan('/unused', { batch: 16, mbstdGroupSize: 4 });
  const limit = 128 * 2 ** 20;
  const tooLarge = (bytes: number, batchGpu?: number) => (E.passTooLarge(new E.BufferLimitError('upfirdn2d', bytes, limit), { ...cfg, batchGpu }, 256) as Error).message;
  // 16 images need 147 MB: 14 would fit, and 8 is the largest round that divides 16 in whole groups of 4.
  assert.is(tooLarge(147095552), 'one pass of 16 images at 256² needs 140.3 MiB in one buffer (upfirdn2d), above this adapter\'s 128.0 MiB: run the minibatch in rounds of 8 or fewer images (--batch-gpu 8, batchGpu)');
  assert.match(tooLarge(137381888, 4), /one pass of 4 images .* rounds of 2 or fewer images \(--batch-gpu 2, batchGpu\)$/, 'below the group size: 3 does not divide 16, 2 does');
  assert.match(tooLarge(limit * 3, 2), /not even one image per pass fits: lower the resolution$/);
  assert.instance(E.passTooLarge(new E.BufferLimitError('x', 1, 1), cfg, 256), E.UserError);
  const other = new Error('not a buffer problem');
  assert.is(E.passTooLarge(other, cfg, 256), other);
});

test.run();
