// Reads (and writes) numeric datasets of HDF5 files with h5wasm (HDF5 compiled to WebAssembly). The file's bytes
// are read with node:fs and written into h5wasm's in-memory file system, then opened there: this
// path works the same in Node and in a browser, and lets us report a missing or non-HDF5 file in
// our own words before the library sees it. Measured on the 1312 ACDC training slices: ~1.5 s warm.
import { readFileSync } from 'node:fs';
import * as h5 from 'h5wasm';
import { writeFileAtomic } from '../engine/index.js';
import { DataError } from '../errors.js';

export type HostArray = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface Hdf5Array {
  shape: number[];
  /** h5wasm's dtype code, e.g. '<f' (float32), '<d' (float64), '<B' (uint8). */
  dtype: string;
  data: HostArray;
}

let readyPromise: Promise<void> | null = null;
let isReady = false;
let scratchCounter = 0;

/** Loads the WebAssembly module once; every read after this may be synchronous. */
export function ensureHdf5Ready(): Promise<void> {
  readyPromise ??= h5.ready.then((module) => {
    // Without this HDF5 prints its whole error stack to stderr and h5wasm throws a bare message;
    // with it the stack comes back inside the thrown error, where we can summarise it.
    module.activate_throwing_error_handler();
    isReady = true;
  });
  return readyPromise;
}

// HDF5 places its superblock at 0 or at 512·2^k when a user block precedes it.
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
function hasHdf5Signature(bytes: Uint8Array): boolean {
  for (let at = 0; at + SIGNATURE.length <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (SIGNATURE.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}

/** The innermost line of an HDF5 error stack is the actual cause ("truncated file: …"). */
function hdf5Cause(err: unknown): string {
  const text = String(err instanceof Error ? err.message : err);
  const lines = text.split('\n').filter((l) => /^\s*#\d+:/.test(l));
  const last = lines.at(-1);
  if (!last) return text.split('\n')[0];
  const cause = last.replace(/^.*\(\):\s*/, '').trim();
  return cause || last.trim();
}

/** Shape and h5wasm dtype code of a dataset, read from the file's header without its values. */
export interface Hdf5DatasetInfo {
  shape: number[];
  dtype: string;
}

/**
 * Reads the named datasets of one HDF5 file. Throws DataError naming the file when it is missing,
 * is not HDF5, is damaged, or lacks one of the datasets. Requires `await ensureHdf5Ready()` first.
 */
export function readHdf5Datasets(path: string, names: readonly string[]): Record<string, Hdf5Array> {
  return withDatasets(path, names, (name, entity) => {
    let value: unknown;
    try {
      value = entity.value;
    } catch (err) {
      throw new DataError(path, `dataset '${name}' cannot be read (${hdf5Cause(err)})`, 'Replace it with the original .h5 file');
    }
    if (!ArrayBuffer.isView(value) || value instanceof DataView || value instanceof BigInt64Array || value instanceof BigUint64Array) {
      throw new DataError(path, `dataset '${name}' is not a numeric array (dtype ${JSON.stringify(entity.dtype)})`, 'Store it as a float or integer array');
    }
    return { shape: entity.shape ?? [], dtype: String(entity.dtype), data: value as HostArray };
  });
}

/**
 * The shapes and dtypes of the named datasets, without decoding their values: what a preflight
 * needs to find a missing, truncated (HDF5 checks the stored end of file on open) or mis-shaped file
 * cheaply. Same errors as readHdf5Datasets.
 */
export function inspectHdf5Datasets(path: string, names: readonly string[]): Record<string, Hdf5DatasetInfo> {
  return withDatasets(path, names, (_, entity) => ({ shape: entity.shape ?? [], dtype: String(entity.dtype) }));
}

/** Opens the file (read-only, through h5wasm's in-memory FS) and maps each named dataset with `take`. */
function withDatasets<T>(path: string, names: readonly string[], take: (name: string, entity: h5.Dataset) => T): Record<string, T> {
  if (!isReady) throw new Error('readHdf5Datasets: call `await ensureHdf5Ready()` once before reading');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(path, 'file not found', 'Check the data directory and the names in the list file');
    throw new DataError(path, `cannot read (${code ?? String(err)})`, 'Check the file permissions');
  }
  if (!hasHdf5Signature(bytes)) {
    throw new DataError(path, `not an HDF5 file (${bytes.length} bytes, no HDF5 signature)`, 'Replace it with the original .h5 file');
  }
  const fs = h5.FS;
  if (!fs) throw new Error('readHdf5Datasets: h5wasm file system is not initialised');
  const scratch = `/sraseg-read-${scratchCounter++}.h5`;
  fs.writeFile(scratch, bytes);
  let file: h5.File | null = null;
  try {
    try {
      file = new h5.File(scratch, 'r');
    } catch (err) {
      throw new DataError(path, `damaged HDF5 file (${hdf5Cause(err)})`, 'Replace it with the original .h5 file');
    }
    const out: Record<string, T> = {};
    const present = file.keys();
    for (const name of names) {
      const entity = present.includes(name) ? file.get(name) : null;
      if (!(entity instanceof h5.Dataset)) {
        throw new DataError(path, `has no dataset '${name}' (found: ${present.join(', ') || 'nothing'})`, `Provide a file with datasets ${names.map((n) => `'${n}'`).join(' and ')}`);
      }
      out[name] = take(name, entity);
    }
    return out;
  } finally {
    file?.close();
    fs.unlink(scratch);
  }
}

export interface Hdf5Dataset {
  shape: number[];
  /** The element type follows the array: Float32Array → float32, Uint8Array → uint8, … */
  data: HostArray;
}

/**
 * Writes an HDF5 file with the given datasets at its root, gzip-compressed (level 4, one chunk per
 * 2D slice) as SSL4MIS's preprocessing writes ACDC. The file is built in h5wasm's in-memory file
 * system and then written to `path` atomically. Requires `await ensureHdf5Ready()` first.
 */
export function writeHdf5Datasets(path: string, datasets: Record<string, Hdf5Dataset>): void {
  if (!isReady) throw new Error('writeHdf5Datasets: call `await ensureHdf5Ready()` once before writing');
  const fs = h5.FS;
  if (!fs) throw new Error('writeHdf5Datasets: h5wasm file system is not initialised');
  for (const [name, d] of Object.entries(datasets)) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    if (d.data.length !== n) throw new Error(`writeHdf5Datasets: dataset '${name}' has ${d.data.length} values, shape [${d.shape}] needs ${n}`);
  }
  const scratch = `/sraseg-write-${scratchCounter++}.h5`;
  let bytes: Uint8Array;
  try {
    const file = new h5.File(scratch, 'w');
    try {
      for (const [name, d] of Object.entries(datasets)) {
        const chunks = d.shape.length >= 2 ? d.shape.map((s, i) => (i < d.shape.length - 2 ? 1 : s)) : null;
        file.create_dataset({ name, data: d.data, shape: d.shape, ...(chunks && d.data.length ? { chunks, compression: 'gzip', compression_opts: 4 } : {}) });
      }
    } finally {
      file.close();
    }
    bytes = fs.readFile(scratch);
  } finally {
    if (fs.analyzePath(scratch).exists) fs.unlink(scratch);
  }
  writeFileAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
