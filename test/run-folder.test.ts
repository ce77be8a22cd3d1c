// The run-folder rules and the one checkpoint format (src/train/run-folder.ts, checkpoint.ts), checked
// on the CPU and through the trainers' own entry points. Each test names the mistake it catches; each
// was made once by hand (the rule or the call removed) and seen to fail.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { tinyPhantom, tinySupervised } from './tiny-runs.js';
import { runBench, tempDir } from './fixtures.js';
import { rejects } from './helpers.js';

const spec = (out: string, over: Partial<E.RunFolderSpec> = {}): E.RunFolderSpec => ({
  out,
  resume: false,
  config: { lr: 0.01, batch: 2, iterations: 4, data: 'phantom', validate: () => 0 },
  stages: [''],
  ...over,
});

/** An (empty) UNet-stage checkpoint at `iteration`: enough for the folder rules. */
function fakeCheckpoint(dir: string, iteration: number): void {
  mkdirSync(dir, { recursive: true });
  E.writeCheckpoint(join(dir, E.CHECKPOINT_FILE), { trainer: 'unet-stage', iteration, groups: {}, optimizers: {}, state: {} });
}

function userError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, E.UserError, String(e));
    assert.match((e as Error).message, pattern);
    assert.not.match((e as Error).message, /\n/, 'one line');
    return;
  }
  assert.unreachable(`accepted; expected ${pattern}`);
}

const supervised = (out: string, resume = false) => tinySupervised(out, { resume });
const phantom = () => tinyPhantom(12);

test('a folder that holds a run is never overwritten: refused without --resume, naming --resume and a fresh --out (catches: a second run emptying the first one\'s log.jsonl and config.json)', async () => {
  const dir = tempDir('folder-exists');
  E.openRunFolder(spec(dir));
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { lr: 0.01, batch: 2, iterations: 4, data: 'phantom' }, 'config.json: JSON values only');
  E.checkRunFolder(spec(dir)); // config.json alone: a run that failed before its first step may be started again
  writeFileSync(join(dir, 'log.jsonl'), '{"iteration":1,"loss":1}\n');
  userError(() => E.checkRunFolder(spec(dir)), /^--out .* already holds a run \(log\.jsonl\): continue it with --resume, or pass a fresh --out/);
  // The library trainer applies the same rule itself, before touching anything.
  await rejects(() => E.trainSupervised(phantom(), supervised(dir)), /already holds a run/);
  assert.is(readFileSync(join(dir, 'log.jsonl'), 'utf8'), '{"iteration":1,"loss":1}\n', 'the log is untouched');
  const semiDir = tempDir('folder-semi');
  mkdirSync(join(semiDir, 'pretrain'));
  userError(() => E.checkRunFolder(spec(semiDir, { stages: ['pretrain', 'selftrain'] })), /already holds a run \(pretrain\)/);
  const other = tempDir('folder-other');
  writeFileSync(join(other, 'notes.txt'), 'mine');
  userError(() => E.checkRunFolder(spec(other)), /^--out .* is not empty \(notes\.txt\): pass a new or empty folder as --out$/);
  userError(() => E.checkRunFolder(spec(join(other, 'notes.txt'))), /is a file, not a folder/);
});

test('--resume needs a checkpoint: refused when there is none, never a silent fresh start (catches: resume emptying log.jsonl and training from scratch)', async () => {
  const dir = tempDir('folder-nock');
  E.openRunFolder(spec(dir));
  writeFileSync(join(dir, 'log.jsonl'), '{"iteration":1,"loss":1}\n');
  userError(() => E.checkRunFolder(spec(dir, { resume: true })), /^--resume: .* holds no checkpoint\.safetensors .*start afresh with another --out/);
  await rejects(() => E.trainSupervised(phantom(), supervised(dir, true)), /holds no checkpoint\.safetensors/);
  assert.is(readFileSync(join(dir, 'log.jsonl'), 'utf8'), '{"iteration":1,"loss":1}\n', 'the log is untouched');
  userError(() => E.checkRunFolder(spec(join(dir, 'nothing-here'), { resume: true })), /does not exist: nothing to continue/);
  writeFileSync(join(dir, 'state_last.json'), '{}');
  userError(() => E.checkRunFolder(spec(dir, { resume: true })), /written by an earlier version \(state_last\.json/);
  // A stage's checkpoint is enough for a multi-stage run (the self-training stage not reached yet).
  const semi = tempDir('folder-semi-resume');
  E.openRunFolder(spec(semi, { stages: ['pretrain', 'selftrain'] }));
  fakeCheckpoint(join(semi, 'pretrain'), 2);
  assert.equal(E.checkRunFolder(spec(semi, { resume: true, stages: ['pretrain', 'selftrain'] })), { resuming: true, changes: [] });
});

test('resume compares the flags with config.json: differences listed, the run length may grow, --allow-config-change records the change (catches: a resume silently training with another lr, or refusing a longer run)', () => {
  const dir = tempDir('folder-config');
  E.openRunFolder(spec(dir));
  fakeCheckpoint(dir, 2);
  const changed = { lr: 0.1, batch: 4, iterations: 4, data: 'phantom' };
  userError(() => E.checkRunFolder(spec(dir, { resume: true, config: changed })), /^--resume: the flags differ from the run's .*config\.json: lr 0\.01 → 0\.1; batch 2 → 4\. .*--allow-config-change/);
  userError(() => E.checkRunFolder(spec(dir, { resume: true, config: { lr: 0.01, batch: 2, iterations: 4 } })), /data "phantom" → \(unset\)/);
  const longer = E.checkRunFolder(spec(dir, { resume: true, config: { lr: 0.01, batch: 2, iterations: 10, data: 'phantom' } }));
  assert.equal(longer.changes, [{ key: 'iterations', saved: 4, now: 10 }], 'a longer run is what resume is for');
  // Key order and out/resume never count.
  assert.equal(E.checkRunFolder(spec(dir, { resume: true, config: { data: 'phantom', iterations: 4, batch: 2, lr: 0.01, out: 'elsewhere', resume: true } })).changes, []);
  const allowed = E.openRunFolder(spec(dir, { resume: true, config: changed, allowConfigChanges: true }));
  assert.equal(allowed.changes.map((c) => c.key), ['lr', 'batch']);
  const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.is(saved.lr, 0.1, 'config.json now holds the flags the run continues with');
  assert.equal(saved.history[0].changed, { lr: [0.01, 0.1], batch: [2, 4] });
  assert.equal(E.checkRunFolder(spec(dir, { resume: true, config: changed })).changes, [], 'the next resume compares with the new flags');
});

test('resume cleans up: leftover *.tmp-<pid> files go, log.jsonl is cut back to the checkpoint (catches: duplicated iterations in the curves, a torn last line breaking the log)', () => {
  const dir = tempDir('folder-cut');
  E.openRunFolder(spec(dir));
  fakeCheckpoint(dir, 2);
  const log = join(dir, 'log.jsonl');
  const rows = [{ iteration: 1, loss: 3 }, { iteration: 2, loss: 2 }, { iteration: 2, val: { dice: 0.5 } }, { note: 'kept' }, { iteration: 3, loss: 1 }, { iteration: 4, loss: 0.5 }];
  writeFileSync(log, rows.map((r) => JSON.stringify(r) + '\n').join('') + '{"iteration":5,"lo');
  E.cutLog(log, 'iteration', 2);
  assert.equal(readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)), rows.slice(0, 4));
  writeFileSync(join(dir, 'checkpoint.safetensors.tmp-4242'), 'half');
  writeFileSync(join(dir, 'model_best.safetensors.tmp-17'), 'half');
  writeFileSync(join(dir, 'keep.tmp-x'), 'not ours');
  E.openRunFolder(spec(dir, { resume: true }));
  assert.not.ok(existsSync(join(dir, 'checkpoint.safetensors.tmp-4242')));
  assert.not.ok(existsSync(join(dir, 'model_best.safetensors.tmp-17')));
  assert.ok(existsSync(join(dir, 'keep.tmp-x')), 'only the atomic writes\' names are removed');
});

test('the checkpoint: one file round-trips every group and optimiser slot; another trainer\'s checkpoint, another model and non-finite weights are refused (catches: slots of one parameter loaded into another, a GAN checkpoint resumed as a UNet stage, NaN weights saved)', async () => {
  const dir = tempDir('checkpoint');
  const path = join(dir, E.CHECKPOINT_FILE);
  const make = (seed: number) => {
    const conv = new E.Conv2d(2, 3, 3, {}, new E.Generator(seed));
    const bn = new E.BatchNorm2d(3);
    return { conv, bn, opt: new E.SGD([...conv.parameters(), ...bn.parameters()], { lr: 0.1, momentum: 0.9 }) };
  };
  const a = make(1);
  E.tidy(() => {
    const x = E.tensor(Float32Array.from({ length: 2 * 2 * 5 * 5 }, (_, i) => Math.sin(i)), [2, 2, 5, 5]);
    const y = E.mean(E.mul(a.bn.forward(a.conv.forward(x)), a.bn.forward(a.conv.forward(x))));
    E.backward(y);
    a.opt.step();
    a.opt.zeroGrad();
  });
  const groups = await E.hostGroups({ conv: a.conv, bn: a.bn });
  E.writeCheckpoint(path, { trainer: 'unet-stage', iteration: 7, groups, optimizers: await E.hostOptimizers({ optimizer: a.opt }), state: { best: 0.5 } });
  const names = [...E.loadSafetensors(path).tensors.keys()];
  assert.ok(names.includes('conv.weight') && names.includes('bn.running_var') && names.includes('optimizer.0.momentum_buffer'), names.join(' '));
  const b = make(2);
  const ck = E.readCheckpoint<{ best: number }>(path, 'unet-stage');
  assert.is(ck.iteration, 7);
  assert.equal(ck.state, { best: 0.5 });
  b.opt.lr = 0.05; // the flags of the resumed run keep their lr
  E.restoreModules(path, ck, { conv: b.conv, bn: b.bn });
  E.restoreOptimizers(path, ck, { optimizer: b.opt });
  assert.is(b.opt.lr, 0.05);
  const [sa, sb] = [await a.opt.stateDict(), await b.opt.stateDict()];
  assert.equal(sb.state.map((s) => s && [s.step, Array.from(s.slots.momentum_buffer)]), sa.state.map((s) => s && [s.step, Array.from(s.slots.momentum_buffer)]));
  for (const [k, t] of await E.moduleToHost(b.conv)) assert.equal(Array.from(t.data as Float32Array), Array.from(groups.conv.get(k)!.data as Float32Array), k);
  userError(() => E.readCheckpoint(path, 'stylegan2'), /a checkpoint of the unet-stage trainer, not of stylegan2/);
  const other = new E.Conv2d(2, 4, 3, {}, new E.Generator(1));
  userError(() => E.restoreModules(path, ck, { conv: other }), /conv weights: .*mismatched shapes: .*weight: expected \[4, 2, 3, 3\] f32, got \[3, 2, 3, 3\]/);
  E.saveSafetensors(join(dir, 'plain.safetensors'), groups.conv);
  userError(() => E.readCheckpoint(join(dir, 'plain.safetensors'), 'unet-stage'), /not a training checkpoint of this version/);
  const poisoned = new Map(groups.conv);
  poisoned.set('bias', { dtype: 'F32', shape: [3], data: Float32Array.from([0, NaN, 0]) });
  assert.throws(() => E.writeCheckpoint(path, { trainer: 'unet-stage', iteration: 8, groups: { conv: poisoned }, optimizers: {}, state: {} }), (e: unknown) => e instanceof E.DivergenceError && /conv\.bias\[1\] = NaN/.test((e as Error).message));
  assert.is(E.readCheckpointInfo(path, 'unet-stage').iteration, 7, 'the previous checkpoint stays in place');
  for (const m of [a, b]) {
    m.opt.dispose();
    m.conv.dispose();
    m.bn.dispose();
  }
  other.dispose();
});

test('the commands apply the rules before the GPU starts: exit 2 and one line (catches: a command that opens the GPU or the folder first, --allow-config-change without --resume accepted)', () => {
  const dir = tempDir('folder-cli');
  writeFileSync(join(dir, 'log.jsonl'), '{"iteration":1,"loss":1}\n');
  const quietOff = { SRASEG_QUIET: '', SRASEG_DEBUG: '' };
  const cases: [string, string[], RegExp][] = [
    ['train-acdc', ['--out', dir, '--iterations', '2'], /^train-acdc: --out .* already holds a run \(log\.jsonl\): continue it with --resume, or pass a fresh --out/],
    ['train-acdc', ['--out', dir, '--resume'], /^train-acdc: --resume: .* holds no checkpoint\.safetensors/],
    ['train-fundus', ['--out', dir, '--allow-config-change'], /^train-fundus: --allow-config-change applies to --resume/],
    ['train-stylegan', ['--out', dir, '--kimg', '0.01'], /^train-stylegan: --out .* already holds a run/],
  ];
  for (const [name, args, pattern] of cases) {
    const r = runBench(name, args, quietOff);
    assert.is(r.code, 2, `${name} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.lines.at(-1)!, pattern);
    assert.not.match(r.stderr, /\[webgpu\] adapter/, `${name}: refused before the GPU started`);
  }
  assert.is(readFileSync(join(dir, 'log.jsonl'), 'utf8'), '{"iteration":1,"loss":1}\n');
});

test.run();
