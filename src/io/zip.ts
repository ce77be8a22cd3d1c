// A minimal ZIP reader for PyTorch checkpoints (torch.save writes a zip archive): the central
// directory (with zip64 records, which large checkpoints need), stored and deflated entries via
// node:zlib. No encryption, no multi-disk archives, no data descriptors beyond what the central
// directory already tells us (it holds every entry's sizes and offset).
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX32 = 0xffffffff;

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('zip: 64-bit size beyond what a Buffer can hold');
  return Number(v);
}

/** The end-of-central-directory record: where the directory starts and how many entries it has. */
function findDirectory(buf: Buffer, source: string): { offset: number; count: number } {
  // The record is 22 bytes plus a comment of up to 65,535 bytes at the end of the file.
  const floor = Math.max(0, buf.length - 22 - 0xffff);
  for (let at = buf.length - 22; at >= floor; at--) {
    if (buf.readUInt32LE(at) !== SIG_EOCD) continue;
    let count = buf.readUInt16LE(at + 10);
    let offset = buf.readUInt32LE(at + 16);
    const locator = at - 20;
    if ((offset === MAX32 || count === 0xffff) && locator >= 0 && buf.readUInt32LE(locator) === SIG_EOCD64_LOCATOR) {
      const rec = u64(buf, locator + 8);
      if (buf.readUInt32LE(rec) !== SIG_EOCD64) throw new Error(`${source}: corrupt zip64 end-of-directory record`);
      count = u64(buf, rec + 32);
      offset = u64(buf, rec + 48);
    }
    return { offset, count };
  }
  throw new Error(`${source}: not a zip archive (no end-of-central-directory record)`);
}

/** Sizes and offsets that overflowed 32 bits live in the zip64 extra field (id 1), in this order. */
function applyZip64(entry: ZipEntry, extra: Buffer): void {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const len = extra.readUInt16LE(at + 2);
    if (id === 1) {
      let p = at + 4;
      const next = () => {
        const v = u64(extra, p);
        p += 8;
        return v;
      };
      if (entry.size === MAX32) entry.size = next();
      if (entry.compressedSize === MAX32) entry.compressedSize = next();
      if (entry.localHeaderOffset === MAX32) entry.localHeaderOffset = next();
      return;
    }
    at += 4 + len;
  }
}

export function zipEntries(buf: Buffer, source = 'zip'): Map<string, ZipEntry> {
  const { offset, count } = findDirectory(buf, source);
  const entries = new Map<string, ZipEntry>();
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== SIG_CENTRAL) throw new Error(`${source}: corrupt zip central directory (entry ${i})`);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const entry: ZipEntry = {
      name: buf.toString('utf8', at + 46, at + 46 + nameLen),
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      localHeaderOffset: buf.readUInt32LE(at + 42),
    };
    applyZip64(entry, buf.subarray(at + 46 + nameLen, at + 46 + nameLen + extraLen));
    entries.set(entry.name, entry);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** An entry's bytes (a view into `buf` for stored entries). */
export function zipRead(buf: Buffer, entry: ZipEntry, source = 'zip'): Buffer {
  const at = entry.localHeaderOffset;
  if (buf.readUInt32LE(at) !== SIG_LOCAL) throw new Error(`${source}: corrupt local header for '${entry.name}'`);
  // The local header's own name/extra lengths may differ from the central directory's.
  const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
  const raw = buf.subarray(start, start + entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new Error(`${source}: '${entry.name}' is truncated`);
  if (entry.method === 0) return raw;
  if (entry.method === 8) return inflateRawSync(raw);
  throw new Error(`${source}: '${entry.name}' uses zip compression method ${entry.method} (only stored and deflate are supported)`);
}
