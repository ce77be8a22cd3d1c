// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the raw little-endian data.
// Writes are atomic (temporary file + fsync + rename + fsync of the folder) so a crash never leaves a
// half-written checkpoint: a reader sees the old file or the new one, and a leftover `*.tmp-<pid>`.
// A file that cannot be read or is not (complete) safetensors is an InputError naming the file.
import { closeSync, fsyncSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';

export type SafeDType = 'F32' | 'I32' | 'U32' | 'F64' | 'I64' | 'U8' | 'F16' | 'BF16';

export interface HostTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Int32Array | Uint32Array | Float64Array | BigInt64Array | Uint8Array | Uint16Array;
}

const BYTES: Record<SafeDType, number> = { F32: 4, I32: 4, U32: 4, F64: 8, I64: 8, U8: 1, F16: 2, BF16: 2 };

export function encodeSafetensors(tensors: Map<string, HostTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.byteLength;
    const expect = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    if (bytes !== expect) throw new Error(`safetensors: '${name}' has ${bytes} bytes, shape [${t.shape}] ${t.dtype} needs ${expect}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (the format allows it).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at);
    at += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, source = 'buffer'): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new InputError(`${source}: not a safetensors file (shorter than its 8-byte header length); use a complete checkpoint`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8 || n > 100 * 1024 * 1024) throw new InputError(`${source}: truncated or not a safetensors file (header length ${n}, file has ${buf.length} bytes); use a complete checkpoint`);
  let header: Record<string, { dtype: SafeDType; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch (e) {
    throw new InputError(`${source}: corrupt safetensors header (${(e as Error).message}); use a complete checkpoint`);
  }
  const base = 8 + n;
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as unknown as Record<string, string>;
      continue;
    }
    const [b, e] = info.data_offsets;
    if (!(info.dtype in BYTES)) throw new InputError(`${source}: tensor '${name}' has unsupported dtype ${info.dtype}`);
    if (e > buf.length - base || b > e) throw new InputError(`${source}: tensor '${name}' lies outside the file (truncated); use a complete checkpoint`);
    const bytes = buf.subarray(base + b, base + e);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes); // aligned private copy
    const ab = copy.buffer;
    const data =
      info.dtype === 'F32' ? new Float32Array(ab)
      : info.dtype === 'I32' ? new Int32Array(ab)
      : info.dtype === 'U32' ? new Uint32Array(ab)
      : info.dtype === 'F64' ? new Float64Array(ab)
      : info.dtype === 'I64' ? new BigInt64Array(ab)
      : info.dtype === 'U8' ? copy
      : new Uint16Array(ab);
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return { tensors, metadata };
}

/**
 * Write a file atomically: to `path.tmp-PID`, fsync, rename over `path`, fsync the folder (so the
 * rename itself survives a power cut). `beforeRename` runs between the fsync and the rename — the
 * trainers' crash-test hook uses it to die with the temporary file complete but not yet in place.
 */
export function writeFileAtomic(path: string, data: Buffer | string, opts: { beforeRename?: () => void } = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  opts.beforeRename?.();
  renameSync(tmp, path);
  syncFolder(dirname(path));
}

function syncFolder(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot open or fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

export function saveSafetensors(path: string, tensors: Map<string, HostTensor>, metadata: Record<string, string> = {}, opts: { beforeRename?: () => void } = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), opts);
}

/** The metadata of a safetensors file without reading its tensors (a checkpoint's header is a few KB). */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${path}: no such file` : `cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) < 8) throw new InputError(`${path}: not a safetensors file (shorter than its 8-byte header length); use a complete checkpoint`);
    const n = Number(len.readBigUInt64LE(0));
    if (n > 100 * 1024 * 1024) throw new InputError(`${path}: truncated or not a safetensors file (header length ${n}); use a complete checkpoint`);
    const head = Buffer.alloc(n);
    if (readSync(fd, head, 0, n, 8) < n) throw new InputError(`${path}: truncated safetensors header; use a complete checkpoint`);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(head.toString('utf8'));
    } catch (e) {
      throw new InputError(`${path}: corrupt safetensors header (${(e as Error).message}); use a complete checkpoint`);
    }
    return (header.__metadata__ ?? {}) as Record<string, string>;
  } finally {
    closeSync(fd);
  }
}

export function loadSafetensors(path: string): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${path}: no such file` : `cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(buf, path);
}
