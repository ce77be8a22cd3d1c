// A training run re-scored from its log with honest model selection (shared by evidence-table.mjs and
// model-card.mjs): the best validation is chosen on the selection half of the validation patients
// (src/data/val-split.ts) and reported on the other half; the last validation is reported too.
// Works on any run folder whose validation rows carry per-volume Dice (the engine's trainers since
// --val-split, the PyTorch twin). A run's log is <run>/selftrain/log.jsonl or <run>/log.jsonl.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitValidation } from '../dist/index.js';

/** Class names by the number of foreground classes a log's per-volume rows carry. */
export function classNames(k) {
  return { 3: ['RV', 'Myo', 'LV'], 1: ['vessel'] }[k] ?? Array.from({ length: k }, (_, i) => `class ${i + 1}`);
}

/** The stage folder of a run that holds the trained student: selftrain/ for BCP and SRA-Seg. */
export function stageOf(run) {
  return existsSync(join(run, 'selftrain', 'log.jsonl')) ? join(run, 'selftrain') : run;
}

/** Literature convention: a missed structure (empty prediction) scores Dice 0. */
const meanOver = (perVolume, names, k) => names.reduce((s, n) => s + (perVolume[n][k] ?? 0), 0) / names.length;

/** Per-class Dice over `names`, and their mean. */
function score(perVolume, names, classes) {
  const perClass = Array.from({ length: classes }, (_, k) => meanOver(perVolume, names, k));
  return { mean: perClass.reduce((a, b) => a + b, 0) / perClass.length, perClass };
}

/**
 * The run's validations scored on both halves; `best` (highest selection-half mean, earliest on ties)
 * and `last`, each with `select` and `report` scores; the run's seconds, its seed (the folder name's
 * trailing -sN), and whether it is complete (its last validation at its configured length).
 * Null when the run has no validation with per-volume rows yet.
 */
export function analyseRun(run) {
  const path = join(stageOf(run), 'log.jsonl');
  if (!existsSync(path)) return null;
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const vals = rows.filter((r) => r.val?.perVolume);
  if (!vals.length) return null;
  const names = Object.keys(vals[0].val.perVolume);
  const classes = vals[0].val.perVolume[names[0]].length;
  const halves = { select: splitValidation(names, 'select'), report: splitValidation(names, 'report') };
  const scored = vals.map((r) => ({
    iteration: r.iteration,
    select: score(r.val.perVolume, halves.select, classes),
    report: score(r.val.perVolume, halves.report, classes),
  }));
  let best = scored[0];
  for (const s of scored) if (s.select.mean > best.select.mean) best = s;
  const last = scored.reduce((a, b) => (b.iteration > a.iteration ? b : a));
  const seconds = rows.reduce((m, r) => Math.max(m, r.seconds ?? r.wallSeconds ?? 0), 0);
  const seed = Number(/-s(\d+)$/.exec(run)?.[1] ?? NaN);
  const config = existsSync(join(run, 'config.json')) ? JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) : {};
  const length = config.selfIterations ?? config.iterations;
  const complete = length === undefined || last.iteration >= length;
  return { run, seed, config, classes: classNames(classes), halves, scored, best, last, seconds, validations: scored.length, complete };
}
