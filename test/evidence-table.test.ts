// scripts/evidence-table.mjs (over scripts/run-scores.mjs) on hand-made run folders whose per-volume
// Dice make every answer known in advance. Catches: the best checkpoint chosen on the report half or
// on all 20 volumes (the selection leak the script exists to prevent: it would report 80.0, not 10.0),
// the last validation reported as the best, seeds averaged wrongly, the paired difference taken
// against another seed of the control, an incomplete run averaged in.
import { test } from './harness.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../src/index.js';
import { tempDir } from './fixtures.js';

const PATIENTS = ['002', '019', '028', '030', '039', '045', '078', '082', '085', '087'];
const NAMES = PATIENTS.flatMap((p) => [`patient${p}_frame01`, `patient${p}_frame02`]);
const SELECT = new Set(E.splitValidation(NAMES, 'select'));

/** A run folder of `iterations` whose validations give `dice(select?)` on every class of each volume. */
function writeRun(dir: string, iterations: number, validations: { iteration: number; select: number; report: number }[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ method: 'supervised', iterations }));
  const rows = validations.map((v) => ({
    iteration: v.iteration,
    seconds: 60 * v.iteration,
    val: { perVolume: Object.fromEntries(NAMES.map((n) => [n, Array(3).fill(SELECT.has(n) ? v.select : v.report)])) },
  }));
  writeFileSync(join(dir, 'log.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

test('evidence-table: best chosen on the selection half and scored on the report half; seeds, pairs and incomplete runs handled', () => {
  const root = tempDir('evidence-table');
  // Method A: validation 1 looks best on the selection half (0.9) but scores 0.1 on the report half;
  // validation 2 is the reverse. Honest selection reports 0.1 (seed 1) and 0.3 (seed 2).
  writeRun(join(root, 'a-s1'), 2, [{ iteration: 1, select: 0.9, report: 0.1 }, { iteration: 2, select: 0.5, report: 0.8 }]);
  writeRun(join(root, 'a-s2'), 2, [{ iteration: 1, select: 0.9, report: 0.3 }, { iteration: 2, select: 0.5, report: 0.8 }]);
  // Control: 0.2 and 0.1 by seed (one validation each); a third, unfinished seed must be left out.
  writeRun(join(root, 'c-s1'), 1, [{ iteration: 1, select: 0.5, report: 0.2 }]);
  writeRun(join(root, 'c-s2'), 1, [{ iteration: 1, select: 0.5, report: 0.1 }]);
  writeRun(join(root, 'c-s3'), 4, [{ iteration: 1, select: 0.5, report: 0.9 }]);
  const r = spawnSync(process.execPath, ['scripts/evidence-table.mjs', '--control', 'c', `a=${root}/a-s*`, `c=${root}/c-s*`], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const row = (name: string, table: number) => r.stdout.split('\n\n')[table].split('\n').find((l) => l.startsWith(`| ${name} |`))!.split('|').map((c) => c.trim());
  // | a | 1, 2 | best mean | RV | Myo | LV | last | validations | minutes |
  assert.equal(row('a', 0).slice(2, 4), ['1, 2', '20.0 ± 14.1'], 'honest best: mean of 10 and 30');
  assert.is(row('a', 0)[7], '80.0 ± 0.0', 'the last validation is reported apart');
  assert.equal(row('c', 0).slice(2, 4), ['1, 2', '15.0 ± 7.1'], 'the incomplete seed 3 is not averaged');
  assert.match(r.stderr, /left out \(incomplete\): .*c-s3 at iteration 1/);
  // Paired by seed: (10 − 20, 30 − 10) = (−10, +20): mean 5.0, sd 21.2, t(1) = 12.706 → ±190.6.
  const paired = row('a', 1);
  assert.equal(paired.slice(2, 5), ['1, 2', '5.0 ± 21.2', '[-185.6, 195.6]']);
  assert.is(paired.at(-2), 'no');
  // One method's seeds in two folders, joined by a comma: the same rows as from one folder.
  const elsewhere = join(root, 'elsewhere');
  writeRun(join(elsewhere, 'a-s2'), 2, [{ iteration: 1, select: 0.9, report: 0.3 }, { iteration: 2, select: 0.5, report: 0.8 }]);
  const split = spawnSync(process.execPath, ['scripts/evidence-table.mjs', '--control', 'c', `a=${root}/a-s1,${elsewhere}/a-s*`, `c=${root}/c-s*`], { encoding: 'utf8' });
  assert.is(split.status, 0, split.stderr);
  assert.is(split.stdout, r.stdout, 'a-s1 here and a-s2 elsewhere score as a-s* here');
});

test.run();
