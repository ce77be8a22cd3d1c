// Small on-disk fixtures for the command and preflight tests: HDF5 slices and volumes in the ACDC
// (SSL4MIS) layout, written into a temporary folder, and running a command as a user does.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import * as E from '../src/index.js';

const madeHere: string[] = [];
process.on('exit', () => {
  for (const dir of madeHere) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh scratch folder, removed when the process exits. Every test makes its folders here and
 * nowhere else (test/scratch.test.ts checks): a training test leaves up to 250 MB of checkpoints, and
 * left behind they once filled the disk a CI run shared. test/run.mjs also points TMPDIR at a
 * folder of its own and removes it at the end, so commands a test spawns leave nothing either.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sraseg-${prefix}-`));
  madeHere.push(dir);
  return dir;
}

/** Writes an HDF5 file with the given datasets (the library's writer, as SSL4MIS lays them out). */
export async function writeH5(path: string, datasets: Record<string, { data: Float32Array | Uint8Array; shape: number[] }>): Promise<void> {
  await E.ensureHdf5Ready();
  E.writeHdf5Datasets(path, datasets);
}

/** An image/label pair of `shape` with a square of class 1..3 (so scores are defined). */
function pair(shape: number[], seed: number): { image: { data: Float32Array; shape: number[] }; label: { data: Uint8Array; shape: number[] } } {
  const n = shape.reduce((a, b) => a * b, 1);
  const image = Float32Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 13) / 12);
  const label = Uint8Array.from({ length: n }, (_, i) => ((i % shape.at(-1)!) > 8 && (i % shape.at(-1)!) < 20 ? 1 + ((seed + i) % 3) : 0));
  return { image: { data: image, shape }, label: { data: label, shape } };
}

export interface AcdcTree {
  root: string;
  slices: string[];
  volumes: string[];
}

/**
 * An ACDC tree: `slices` training slices of 2 patients (H×W), `volumes` validation volumes (D×H×W),
 * train_slices.list and val.list. Options leave out the training list, or write other lists.
 */
export async function writeAcdcTree(root: string, opts: { slices?: number; volumes?: number; size?: number; trainList?: boolean } = {}): Promise<AcdcTree> {
  const size = opts.size ?? 32;
  mkdirSync(join(root, 'data'), { recursive: true });
  const slices = Array.from({ length: opts.slices ?? 6 }, (_, i) => `patient00${1 + (i % 2)}_frame01_slice_${i}`);
  const volumes = Array.from({ length: opts.volumes ?? 2 }, (_, i) => `patient09${i}_frame01`);
  for (const [i, n] of slices.entries()) await writeH5(join(root, 'data', `${n}.h5`), pair([size, size], i));
  for (const [i, n] of volumes.entries()) await writeH5(join(root, 'data', `${n}.h5`), pair([2, size, size], i));
  if (opts.trainList ?? true) writeFileSync(join(root, 'train_slices.list'), slices.join('\n') + '\n');
  writeFileSync(join(root, 'val.list'), volumes.join('\n') + '\n');
  return { root, slices, volumes };
}

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr without empty lines. */
  lines: string[];
}

/** Runs `node bench/<name>.js args…` from the repository root, as a user does. */
export function runBench(name: string, args: string[], env: Record<string, string> = {}): CommandRun {
  const r = spawnSync(process.execPath, [`bench/${name}.js`, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.split('\n').filter((l) => l.trim()) };
}

/** Asserts that `err` is a DataError naming `file`, its message matching `pattern`. */
function assertDataError(err: unknown, file: string, pattern: RegExp): void {
  assert.instance(err, E.DataError, `expected DataError, got ${String(err)}`);
  assert.is((err as E.DataError).file, file);
  assert.match((err as Error).message, pattern);
}

/** Asserts that `fn` throws a DataError naming `file`, its message matching `pattern`. */
export function throwsData(fn: () => unknown, file: string, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    return assertDataError(err, file, pattern);
  }
  assert.unreachable(`expected a DataError for ${file}`);
}

/** The same for an async `fn`. */
export async function rejectsData(fn: () => Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    return assertDataError(err, file, pattern);
  }
  assert.unreachable(`expected a DataError for ${file}`);
}
