// The rules of a run folder, the same for every trainer and checked by the commands before the GPU
// starts (checkRunFolder) and again by the library trainers themselves (openRunFolder):
// - a folder that holds a run is never overwritten: without `resume` it must be new or empty;
// - `resume` needs a checkpoint (in the folder or one of its stage folders), never silently starts
//   afresh;
// - on resume the run's flags must equal those in config.json, except the run length (`iterations`,
//   `selfIterations`, `kimg`: extending a run is what resume is for); other differences are refused
//   with the list, unless `allowConfigChanges` (then config.json is rewritten, with the change
//   recorded under `history`);
// - on resume, leftover temporary files (`*.tmp-<pid>`, from a kill during an atomic write) are
//   removed; each stage cuts its log.jsonl back to its checkpoint (cutLog) when it loads it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../engine/index.js';
import { UserError } from '../errors.js';
import { CHECKPOINT_FILE } from './checkpoint.js';

/** Config keys a resume may change without `allowConfigChanges`: the run's length. */
export const RUN_LENGTH_KEYS = ['iterations', 'selfIterations', 'kimg'] as const;
/** Keys never compared: where the run is and how it was started, and the change record itself. */
const NOT_COMPARED = ['out', 'resume', 'allowConfigChanges', 'history'];

export interface RunFolderSpec {
  out: string;
  resume: boolean;
  /** What defines the run, as config.json holds it (JSON values; functions and undefined are dropped). */
  config: Record<string, unknown>;
  /** Folders under `out` ('' = out itself) that each hold a stage's checkpoint.safetensors and log.jsonl. */
  stages: string[];
  allowConfigChanges?: boolean;
}

export interface ConfigChange {
  key: string;
  saved: unknown;
  now: unknown;
}

export interface RunFolderCheck {
  /** Resuming (a checkpoint exists) or starting afresh. */
  resuming: boolean;
  /** Differences from config.json (resume only), the run-length ones included. */
  changes: ConfigChange[];
}

/** The run folder rules, without touching anything (commands call it before the GPU starts). */
export function checkRunFolder(spec: RunFolderSpec): RunFolderCheck {
  const { out } = spec;
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UserError(`--out ${out} is a file, not a folder: pass a folder for the run`);
  const files = existsSync(out) ? readdirSync(out) : [];
  const checkpoints = spec.stages.map((s) => join(out, s, CHECKPOINT_FILE)).filter((p) => existsSync(p));
  if (!spec.resume) {
    // config.json alone is a run that failed before its first step (e.g. on a bad weights file): nothing to lose.
    const runFiles = files.filter((f) => ['log.jsonl', CHECKPOINT_FILE, ...spec.stages.filter(Boolean)].includes(f));
    if (runFiles.length) {
      throw new UserError(`--out ${out} already holds a run (${runFiles.join(', ')}): continue it with --resume, or pass a fresh --out (a run folder is never overwritten)`);
    }
    const others = files.filter((f) => f !== 'config.json');
    if (others.length) throw new UserError(`--out ${out} is not empty (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}): pass a new or empty folder as --out`);
    return { resuming: false, changes: [] };
  }
  if (!existsSync(out)) throw new UserError(`--resume: ${out} does not exist: nothing to continue; start the run without --resume`);
  if (!checkpoints.length) {
    const old = spec.stages.some((s) => existsSync(join(out, s, 'state_last.json')));
    if (old) throw new UserError(`--resume: ${out} was written by an earlier version (state_last.json, no ${CHECKPOINT_FILE}) and cannot be continued; start a fresh run with another --out`);
    throw new UserError(`--resume: ${out} holds no ${CHECKPOINT_FILE} (the run stopped before its first checkpoint): nothing to continue; start afresh with another --out (or delete the folder)`);
  }
  const configPath = join(out, 'config.json');
  if (!existsSync(configPath)) {
    if (spec.allowConfigChanges) return { resuming: true, changes: [] };
    throw new UserError(`--resume: ${configPath} is missing, so the flags cannot be checked against the run's; pass --allow-config-change to continue anyway`);
  }
  const changes = configChanges(readConfig(configPath), normalise(spec.config));
  const refused = changes.filter((c) => !(RUN_LENGTH_KEYS as readonly string[]).includes(c.key));
  if (refused.length && !spec.allowConfigChanges) {
    throw new UserError(
      `--resume: the flags differ from the run's ${configPath}: ${refused.map(describeChange).join('; ')}. ` +
        'Resume with the run\'s flags, or pass --allow-config-change to continue with the new ones',
    );
  }
  return { resuming: true, changes };
}

/**
 * checkRunFolder, then prepares the folder: a fresh run gets the folder and its config.json; a resumed
 * one loses its leftover temporary files and, when flags changed, gets config.json rewritten with the
 * change recorded. Library trainers call it first thing.
 */
export function openRunFolder(spec: RunFolderSpec): RunFolderCheck {
  const check = checkRunFolder(spec);
  const configPath = join(spec.out, 'config.json');
  if (!check.resuming) {
    mkdirSync(spec.out, { recursive: true });
    writeFileAtomic(configPath, JSON.stringify(normalise(spec.config), null, 2));
    return check;
  }
  for (const stage of new Set(['', ...spec.stages])) removeTemporaryFiles(join(spec.out, stage));
  if (check.changes.length) {
    const saved = existsSync(configPath) ? readConfig(configPath) : {};
    const history = [...((saved.history as unknown[]) ?? []), { resumed: new Date().toISOString(), changed: Object.fromEntries(check.changes.map((c) => [c.key, [c.saved, c.now]])) }];
    writeFileAtomic(configPath, JSON.stringify({ ...normalise(spec.config), history }, null, 2));
    console.error(`resuming ${spec.out} with changed flags: ${check.changes.map(describeChange).join('; ')}`);
  }
  return check;
}

/** Removes `*.tmp-<pid>` files an atomic write left behind when it was killed. */
export function removeTemporaryFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed = readdirSync(dir).filter((f) => /\.tmp-\d+$/.test(f));
  for (const f of removed) rmSync(join(dir, f), { force: true });
  return removed;
}

/**
 * Cuts a log back to the rows whose counter (`iteration` or `step`) is at most `at` — the rows a
 * resumed run will write again — and drops a torn last line. Rows without the counter are kept.
 */
export function cutLog(path: string, counter: string, at: number): void {
  if (!existsSync(path)) {
    writeFileAtomic(path, '');
    return;
  }
  const kept: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      continue; // a line torn by a crash in the middle of its write
    }
    const n = row[counter];
    if (typeof n === 'number' && n > at) continue;
    kept.push(line);
  }
  writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
}

function readConfig(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${path}: unreadable (${(e as Error).message}); pass --allow-config-change to continue without comparing flags`);
  }
}

/** JSON's view of a config: what config.json holds and what is compared. */
function normalise(config: Record<string, unknown>): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const k of ['out', 'resume', 'allowConfigChanges']) delete plain[k];
  return plain;
}

function configChanges(saved: Record<string, unknown>, now: Record<string, unknown>): ConfigChange[] {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].filter((k) => !NOT_COMPARED.includes(k));
  return keys.filter((k) => stable(saved[k]) !== stable(now[k])).map((key) => ({ key, saved: saved[key], now: now[key] }));
}

/** JSON with object keys sorted, so that key order never counts as a difference. */
function stable(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

function describeChange(c: ConfigChange): string {
  const show = (v: unknown) => {
    if (v === undefined) return '(unset)';
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}…` : s;
  };
  return `${c.key} ${show(c.saved)} → ${show(c.now)}`;
}
