#!/usr/bin/env node
// Re-scores training runs from their logs for docs/RESULTS.md, with honest model selection
// (scripts/run-scores.mjs: best on the selection half of the validation patients, reported on the
// other half; the last validation too).
// Prints, per method, mean ± sample standard deviation over seeds (per class and mean), and each
// method's paired difference to a control method (same seeds), with a two-sided t interval.
//
// Usage: node scripts/evidence-table.mjs --control cont 'sup=runs/ev/sup-s*' 'cont=runs/ev/cont-s*' …
//   NAME=GLOB   a method and its run folders (one per seed; the seed is read from the folder name's
//               trailing -sN); a run's log is <run>/log.jsonl or <run>/selftrain/log.jsonl;
//               several globs separated by commas (one method's seeds in several folders)
//   --control NAME   the method the others are compared with, seed by seed
//   --unpaired       compare with the control as independent samples (Welch's t interval), for
//                    methods whose seed N is not the control's seed N (another engine's random streams)
//   --json FILE      also write the numbers as JSON
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { analyseRun, classNames } from './run-scores.mjs';

let CLASSES = classNames(3);
const args = process.argv.slice(2);
let control = null;
let jsonOut = null;
let unpaired = false;
const groups = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--control') control = args[++i];
  else if (args[i] === '--json') jsonOut = args[++i];
  else if (args[i] === '--unpaired') unpaired = true;
  else {
    const [name, pattern] = args[i].split('=');
    if (!pattern) throw new Error(`expected NAME=GLOB, got '${args[i]}'`);
    groups.push({ name, runs: pattern.split(',').flatMap(expand) });
  }
}

/** A minimal glob: '*' within the last path component only. */
function expand(pattern) {
  const dir = dirname(pattern);
  const re = new RegExp(`^${basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f)) : [];
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

const analysed = groups.map((g) => ({ name: g.name, runs: g.runs.map(analyseRun).filter(Boolean) }));
CLASSES = analysed.flatMap((g) => g.runs)[0]?.classes ?? CLASSES;
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

/** Two-sided 95 % t quantile for `df` degrees of freedom (rounded down; normal beyond the table). */
const t95 = (df) => (df >= T95.length ? 1.96 : T95[Math.max(1, Math.floor(df))]);

/** Welch's difference of two independent samples: mean, standard error and the interval's half width. */
function welch(xs, ys) {
  const x = stats(xs);
  const y = stats(ys);
  const vx = x.sd ** 2 / x.n;
  const vy = y.sd ** 2 / y.n;
  const se = Math.sqrt(vx + vy);
  const df = (vx + vy) ** 2 / (vx ** 2 / (x.n - 1) + vy ** 2 / (y.n - 1));
  return { mean: x.mean - y.mean, sd: se, half: t95(df) * se };
}

if (control && unpaired) {
  const base = results.find((r) => r.name === control);
  if (!base) throw new Error(`--control ${control}: no such method`);
  console.log(`\nDifferences to '${control}' as independent samples (report half, best-on-selection checkpoints), difference of means ± its standard error and Welch's 95 % interval:`);
  header(['method', 'seeds', 'Δ mean Dice', '95 % interval', ...CLASSES.map((c) => `Δ ${c}`), 'beyond seed noise?']);
  for (const r of results) {
    if (r === base || r.runs.length < 2 || base.runs.length < 2) continue;
    const of = (runs, k) => runs.map((x) => (k === undefined ? x.best.report.mean : x.best.report.perClass[k]));
    const d = welch(of(r.runs), of(base.runs));
    const perClass = CLASSES.map((_, k) => welch(of(r.runs, k), of(base.runs, k)));
    console.log(line([r.name, r.runs.map((x) => x.seed).join(', '), pm(d), `[${pct(d.mean - d.half)}, ${pct(d.mean + d.half)}]`, ...perClass.map(pm), Math.abs(d.mean) > d.half ? 'yes' : 'no']));
  }
} else if (control) {
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
