// PyTorch checkpoints (`torch.save` since 1.6): a zip archive `<name>/data.pkl` (the pickled object)
// plus one entry `<name>/data/<key>` per tensor storage (raw little-endian). Reads a state dict —
// a (nested) dict of tensors — into host tensors; floating tensors come back as F32.
import { readFileSync } from 'node:fs';
import type { HostTensor } from '../engine/index.js';
import { PickleGlobal, unpickle } from './pickle.js';
import { zipEntries, zipRead } from './zip.js';

interface StorageRef {
  kind: 'storage';
  type: string;
  key: string;
}

interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** What `gather` needs of a tensor: its storage's type name (`FloatStorage`, …) and its view. */
export interface StridedView {
  storage: { type: string };
  offset: number;
  shape: number[];
  stride: number[];
}

/** Element readers per storage type: how many bytes, and how to read one as a number. */
const STORAGES: Record<string, { bytes: number; read: (b: Buffer, at: number) => number; float: boolean }> = {
  FloatStorage: { bytes: 4, read: (b, at) => b.readFloatLE(at), float: true },
  DoubleStorage: { bytes: 8, read: (b, at) => b.readDoubleLE(at), float: true },
  HalfStorage: { bytes: 2, read: (b, at) => halfToFloat(b.readUInt16LE(at)), float: true },
  BFloat16Storage: { bytes: 2, read: (b, at) => bf16ToFloat(b.readUInt16LE(at)), float: true },
  IntStorage: { bytes: 4, read: (b, at) => b.readInt32LE(at), float: false },
  LongStorage: { bytes: 8, read: (b, at) => Number(b.readBigInt64LE(at)), float: false },
};

/** Bytes per element of a torch storage type (`FloatStorage` → 4); undefined for one not supported. */
export function storageElementSize(type: string): number | undefined {
  return STORAGES[type]?.bytes;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function bf16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The callables a state dict's pickle may REDUCE; anything else is refused by name. */
function call(fn: PickleGlobal, args: unknown[]): unknown {
  const name = fn.toString();
  switch (name) {
    case 'collections.OrderedDict':
      return new Map();
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
      return { kind: 'tensor', storage, offset, shape: [...shape], stride: [...stride] } satisfies TensorRef;
    }
    case 'torch._utils._rebuild_parameter':
      return args[0];
    default:
      throw new Error(`unsupported object in checkpoint: ${name} (only state dicts of tensors are read)`);
  }
}

function persistentLoad(pid: unknown): StorageRef {
  const [tag, type, key] = pid as [string, PickleGlobal, string];
  if (tag !== 'storage' || !(type instanceof PickleGlobal)) throw new Error(`unsupported persistent id in checkpoint: ${String(tag)}`);
  return { kind: 'storage', type: type.name, key };
}

const isTensor = (v: unknown): v is TensorRef => typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';

function isContiguous(ref: StridedView): boolean {
  let expect = 1;
  for (let d = ref.shape.length - 1; d >= 0; d--) {
    if (ref.shape[d] !== 1 && ref.stride[d] !== expect) return false;
    expect *= ref.shape[d];
  }
  return true;
}

/** Materialise a (possibly strided) tensor from its storage bytes. */
export function gather(ref: StridedView, bytes: Buffer, name: string, source: string): HostTensor {
  const kind = STORAGES[ref.storage.type];
  if (!kind) throw new Error(`${source}: tensor '${name}' has storage type ${ref.storage.type}, which is not supported`);
  const n = ref.shape.reduce((a, b) => a * b, 1);
  if (ref.storage.type === 'FloatStorage' && isContiguous(ref)) {
    // The common case, without a per-element loop: a private aligned copy of the bytes.
    const begin = ref.offset * 4;
    if (begin + n * 4 > bytes.length) throw new Error(`${source}: tensor '${name}' reaches past its storage`);
    const copy = new Uint8Array(n * 4);
    copy.set(bytes.subarray(begin, begin + n * 4));
    return { dtype: 'F32', shape: ref.shape, data: new Float32Array(copy.buffer) };
  }
  const out = new Float64Array(n);
  const idx = new Array<number>(ref.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let at = ref.offset;
    for (let d = 0; d < idx.length; d++) at += idx[d] * ref.stride[d];
    if ((at + 1) * kind.bytes > bytes.length) throw new Error(`${source}: tensor '${name}' reaches past its storage`);
    out[i] = kind.read(bytes, at * kind.bytes);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < ref.shape[d]) break;
      idx[d] = 0;
    }
  }
  if (kind.float) return { dtype: 'F32', shape: ref.shape, data: Float32Array.from(out) };
  return { dtype: 'I64', shape: ref.shape, data: BigInt64Array.from(out, (v) => BigInt(v)) };
}

/** Flatten nested dicts of tensors into dotted names (a checkpoint may wrap the state dict). */
function collect(value: unknown, prefix: string, into: Map<string, TensorRef>): void {
  if (isTensor(value)) into.set(prefix, value);
  else if (value instanceof Map) for (const [k, v] of value) collect(v, prefix ? `${prefix}.${k}` : String(k), into);
}

export function decodePth(buf: Buffer, source = 'checkpoint'): Map<string, HostTensor> {
  const entries = zipEntries(buf, source);
  const pkl = [...entries.keys()].find((n) => n.endsWith('data.pkl') && n.split('/').length === 2);
  if (!pkl) throw new Error(`${source}: no <name>/data.pkl entry: not a PyTorch zip checkpoint (torch.save ≥ 1.6)`);
  const root = pkl.slice(0, -'data.pkl'.length);
  const obj = unpickle(zipRead(buf, entries.get(pkl)!, source), { call, persistentLoad }, `${source}: data.pkl`);
  const refs = new Map<string, TensorRef>();
  collect(obj, '', refs);
  const out = new Map<string, HostTensor>();
  for (const [name, ref] of refs) {
    const entry = entries.get(`${root}data/${ref.storage.key}`);
    if (!entry) throw new Error(`${source}: storage ${ref.storage.key} of tensor '${name}' is missing from the archive`);
    out.set(name, gather(ref, zipRead(buf, entry, source), name, source));
  }
  return out;
}

export function loadPth(path: string): Map<string, HostTensor> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  return decodePth(buf, path);
}
