#!/usr/bin/env node
// Re-scores training runs from their logs for docs/RESULTS.md, with honest model selection: each run's
// best validation is chosen on the selection half of the validation patients (src/data/val-split.ts)
// and reported on the other half; the last validation is reported too. Works on any run folder whose
// validation rows carry per-volume Dice (the engine's trainers since --val-split, the PyTorch twin).
// Prints, per method, mean ± sample standard deviation over seeds (per class and mean), and each
// method's paired difference to a control method (same seeds), with a two-sided t interval.
//
// Usage: node scripts/evidence-table.mjs --control cont 'sup=runs/ev/sup-s*' 'cont=runs/ev/cont-s*' …
//   NAME=GLOB   a method and its run folders (one per seed; the seed is read from the folder name's
//               trailing -sN); a run's log is <run>/log.jsonl or <run>/selftrain/log.jsonl
//   --control NAME   the method the others are compared with, seed by seed
//   --json FILE      also write the numbers as JSON
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { splitValidation } from '../dist/index.js';

// Class names by the number of foreground classes a log's per-volume rows carry.
const CLASS_NAMES = { 3: ['RV', 'Myo', 'LV'], 1: ['vessel'] };
let CLASSES = CLASS_NAMES[3];
const args = process.argv.slice(2);
let control = null;
let jsonOut = null;
const groups = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--control') control = args[++i];
  else if (args[i] === '--json') jsonOut = args[++i];
  else {
    const [name, pattern] = args[i].split('=');
    if (!pattern) throw new Error(`expected NAME=GLOB, got '${args[i]}'`);
    groups.push({ name, runs: expand(pattern) });
  }
}

/** A minimal glob: '*' within the last path component only. */
function expand(pattern) {
  const dir = dirname(pattern);
  const re = new RegExp(`^${basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f)) : [];
}

function logOf(run) {
  for (const p of [join(run, 'selftrain', 'log.jsonl'), join(run, 'log.jsonl')]) if (existsSync(p)) return p;
  return null;
}

/** Literature convention: a missed structure (empty prediction) scores Dice 0. */
const meanOver = (perVolume, names, k) => names.reduce((s, n) => s + (perVolume[n][k] ?? 0), 0) / names.length;

/** Per-class Dice over `names`, and their mean. */
function score(perVolume, names) {
  const perClass = CLASSES.map((_, k) => meanOver(perVolume, names, k));
  return { mean: perClass.reduce((a, b) => a + b, 0) / perClass.length, perClass };
}

function analyse(run) {
  const path = logOf(run);
  if (!path) return null;
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const vals = rows.filter((r) => r.val?.perVolume);
  if (!vals.length) return null;
  const names = Object.keys(vals[0].val.perVolume);
  const k = vals[0].val.perVolume[names[0]].length;
  CLASSES = CLASS_NAMES[k] ?? Array.from({ length: k }, (_, i) => `class ${i + 1}`);
  const select = splitValidation(names, 'select');
  const report = splitValidation(names, 'report');
  const scored = vals.map((r) => ({ iteration: r.iteration, select: score(r.val.perVolume, select).mean, report: score(r.val.perVolume, report) }));
  let best = scored[0];
  for (const s of scored) if (s.select > best.select) best = s;
  const last = scored.reduce((a, b) => (b.iteration > a.iteration ? b : a));
  const seconds = rows.reduce((m, r) => Math.max(m, r.seconds ?? r.wallSeconds ?? 0), 0);
  const seed = Number(/-s(\d+)$/.exec(run)?.[1] ?? NaN);
  // Complete: the last validation is at the run's configured length (config.json at the run's top).
  const config = existsSync(join(run, 'config.json')) ? JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) : {};
  const length = config.selfIterations ?? config.iterations;
  const complete = length === undefined || last.iteration >= length;
  return { run, seed, best, last, seconds, validations: scored.length, complete };
}

const stats = (xs) => {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { n, mean, sd };
};
/** Two-sided 95 % t quantiles for n − 1 degrees of freedom (n ≤ 11). */
const T95 = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
const pct = (x) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '–');
const pm = (s) => `${pct(s.mean)} ± ${pct(s.sd)}`;

const analysed = groups.map((g) => ({ name: g.name, runs: g.runs.map(analyse).filter(Boolean) }));
// Runs still going (or stopped early) are listed, not averaged.
for (const g of analysed) for (const r of g.runs.filter((x) => !x.complete)) console.error(`left out (incomplete): ${r.run} at iteration ${r.last.iteration}`);
const results = analysed.map((g) => ({ name: g.name, runs: g.runs.filter((x) => x.complete) }));
const line = (cells) => `| ${cells.join(' | ')} |`;
const header = (cells) => console.log(`${line(cells)}\n${line(['---', ...Array(cells.length - 1).fill('---:')])}`);
header(['method', 'seeds', 'best on selection → report half: mean', ...CLASSES, 'last → report half', 'validations', 'minutes / run']);
for (const r of results) {
  if (!r.runs.length) continue;
  const best = stats(r.runs.map((x) => x.best.report.mean));
  const perClass = CLASSES.map((_, k) => stats(r.runs.map((x) => x.best.report.perClass[k])));
  const last = stats(r.runs.map((x) => x.last.report.mean));
  const minutes = stats(r.runs.map((x) => x.seconds / 60));
  console.log(line([r.name, r.runs.map((x) => x.seed).join(', '), pm(best), ...perClass.map(pm), pm(last), String(r.runs[0].validations), minutes.mean.toFixed(0)]));
}

if (control) {
  const base = results.find((r) => r.name === control);
  if (!base) throw new Error(`--control ${control}: no such method`);
  console.log(`\nPaired differences to '${control}' (report half, best-on-selection checkpoints; same seeds), mean ± sd and 95 % t interval:`);
  header(['method', 'seeds', 'Δ mean Dice', '95 % interval', ...CLASSES.map((c) => `Δ ${c}`), 'beyond seed noise?']);
  for (const r of results) {
    if (r === base) continue;
    const pairs = r.runs.map((x) => [x, base.runs.find((b) => b.seed === x.seed)]).filter(([, b]) => b);
    if (!pairs.length) continue;
    const d = stats(pairs.map(([x, b]) => x.best.report.mean - b.best.report.mean));
    const half = d.n > 1 ? T95[d.n - 1] * (d.sd / Math.sqrt(d.n)) : NaN;
    const perClass = CLASSES.map((_, k) => stats(pairs.map(([x, b]) => x.best.report.perClass[k] - b.best.report.perClass[k])));
    const beyond = Number.isFinite(half) ? (Math.abs(d.mean) > half ? 'yes' : 'no') : 'one seed';
    console.log(line([r.name, pairs.map(([x]) => x.seed).join(', '), pm(d), `[${pct(d.mean - half)}, ${pct(d.mean + half)}]`, ...perClass.map(pm), beyond]));
  }
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
