// Torch objects inside a plain pickle (`pickle.dump` of modules and tensors, not a `torch.save` zip),
// read as data — nothing is imported or executed:
//   tensor     → torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)
//   Parameter  → torch._utils._rebuild_parameter(tensor, requires_grad, hooks)
//   storage    → torch.storage._load_from_bytes(b), where b is a complete LEGACY (non-zip) torch.save
//                of that one storage: five pickles back to back (magic number, protocol version,
//                system info, the storage as a persistent id, the list of storage keys), then per key
//                its element count (int64 LE) and its raw little-endian data;
//   numpy scalars (numpy.core.multiarray.scalar(dtype, bytes)) → numbers; sets → Set;
//   any other object (NEWOBJ, REDUCE of an unknown callable) → an inert PyObject that records its
//   class name, arguments, BUILD state and — for dict subclasses such as dnnlib's EasyDict — items.
import { PickleGlobal, unpickleAt, type UnpickleHooks } from './pickle.js';
import { storageElementSize } from './pth.js';

/** An object the reader does not interpret: its class, constructor arguments and state, as data. */
export class PyObject extends Map<unknown, unknown> {
  /** What BUILD set (`__setstate__`), usually the instance `__dict__`. */
  state: unknown = undefined;
  constructor(
    readonly cls: PickleGlobal,
    readonly args: unknown[],
  ) {
    super();
  }
}

/** One storage's raw bytes, as loaded from its legacy torch.save blob. */
export interface StorageData {
  kind: 'storage-data';
  /** `FloatStorage`, `HalfStorage`, … */
  type: string;
  bytes: Buffer;
}

export interface TensorData {
  kind: 'tensor-data';
  storage: StorageData;
  offset: number;
  shape: number[];
  stride: number[];
}

export const isTensorData = (v: unknown): v is TensorData => typeof v === 'object' && v !== null && (v as TensorData).kind === 'tensor-data';

/** torch.serialization's MAGIC_NUMBER and PROTOCOL_VERSION of the legacy format. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** Hooks for a pickle holding torch modules and tensors; `extra` may claim callables first. */
export function torchPickleHooks(source: string, extra?: (fn: PickleGlobal, args: unknown[]) => unknown): UnpickleHooks {
  const call = (fn: PickleGlobal, args: unknown[]): unknown => {
    const claimed = extra?.(fn, args);
    if (claimed !== undefined) return claimed;
    switch (fn.toString()) {
      case 'collections.OrderedDict': {
        const d = new Map<unknown, unknown>();
        for (const pair of (args[0] as unknown[][] | undefined) ?? []) d.set(pair[0], pair[1]);
        return d;
      }
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2': {
        const [storage, offset, shape, stride] = args as [StorageData, number, number[], number[]];
        if (storage?.kind !== 'storage-data') throw new Error(`${source}: a tensor whose storage is not one this reader can load (${describe(storage)})`);
        return { kind: 'tensor-data', storage, offset, shape: [...shape], stride: [...stride] } satisfies TensorData;
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return args[0];
      case 'torch._tensor._rebuild_from_type_v2': {
        // (func, type, args, state): a tensor subclass; its data is what func(*args) rebuilds.
        const [func, , inner] = args as [PickleGlobal, unknown, unknown[]];
        return call(func, inner);
      }
      case 'torch.storage._load_from_bytes':
        return loadLegacyStorage(args[0] as Buffer, source);
      case 'numpy.core.multiarray.scalar':
      case 'numpy._core.multiarray.scalar':
        return numpyScalar(args[0], args[1] as Buffer, source);
      case 'builtins.set':
      case 'builtins.frozenset':
      case '__builtin__.set':
      case '__builtin__.frozenset':
        return new Set((args[0] as unknown[] | undefined) ?? []);
      case 'copyreg._reconstructor':
        return new PyObject(args[0] as PickleGlobal, []);
      default:
        return new PyObject(fn, args);
    }
  };
  return {
    call,
    persistentLoad: (pid) => {
      throw new Error(`${source}: unexpected persistent id ${describe(pid)} (tensor data should be inline in this kind of pickle)`);
    },
    newObject: (cls, args) => new PyObject(cls, args),
    build: (obj, state) => {
      if (obj instanceof PyObject) obj.state = state;
    },
  };
}

/** Parse one storage saved with the legacy torch.save format (what `_load_from_bytes` reads). */
export function loadLegacyStorage(blob: Buffer, source: string): StorageData {
  const where = `${source}: embedded storage`;
  if (!(blob instanceof Uint8Array)) throw new Error(`${where}: expected bytes, got ${describe(blob)}`);
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b[0] === 0x50 && b[1] === 0x4b) throw new Error(`${where}: saved in torch's zip format (an old PyTorch pickled storages so), which this reader does not read`);
  const plain: UnpickleHooks = {
    call: (fn) => {
      throw new Error(`${where}: unexpected ${fn} in the header`);
    },
    persistentLoad: () => {
      throw new Error(`${where}: unexpected persistent id in the header`);
    },
  };
  let at = 0;
  const next = (hooks: UnpickleHooks) => {
    const r = unpickleAt(b, at, hooks, where);
    at = r.end;
    return r.value;
  };
  if (next(plain) !== LEGACY_MAGIC) throw new Error(`${where}: not a legacy torch.save blob (wrong magic number)`);
  const protocol = next(plain);
  if (protocol !== LEGACY_PROTOCOL) throw new Error(`${where}: legacy torch.save protocol ${String(protocol)}, expected ${LEGACY_PROTOCOL}`);
  const sysInfo = next(plain);
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) throw new Error(`${where}: saved on a big-endian machine, which this reader does not support`);

  interface Ref {
    type: string;
    key: string;
    view: [string, number, number] | null;
  }
  const root = next({
    ...plain,
    persistentLoad: (pid) => {
      const [tag, type, key, , , view] = pid as [string, PickleGlobal, string, string, number, [string, number, number] | null];
      if (tag !== 'storage' || !(type instanceof PickleGlobal)) throw new Error(`${where}: unsupported persistent id ${describe(pid)}`);
      return { type: type.name, key: String(key), view: view ?? null } satisfies Ref;
    },
  }) as Ref;
  if (!root || typeof root.type !== 'string') throw new Error(`${where}: the blob holds ${describe(root)}, not a storage`);
  const keys = next(plain) as string[];
  const elem = storageElementSize(root.type);
  if (!elem) throw new Error(`${where}: storage type ${root.type} is not supported`);
  const data = new Map<string, Buffer>();
  for (const key of keys) {
    if (at + 8 > b.length) throw new Error(`${where}: truncated (storage ${key} has no size)`);
    const numel = Number(b.readBigInt64LE(at));
    at += 8;
    if (at + numel * elem > b.length) throw new Error(`${where}: truncated (storage ${key} needs ${numel * elem} bytes, ${b.length - at} left)`);
    data.set(String(key), b.subarray(at, at + numel * elem));
    at += numel * elem;
  }
  const bytes = data.get(root.view ? root.view[0] : root.key);
  if (!bytes) throw new Error(`${where}: storage ${root.key} is missing from the blob`);
  // A storage view (old PyTorch): [root key, offset, size] in elements of the root storage.
  const view = root.view ? bytes.subarray(root.view[1] * elem, (root.view[1] + root.view[2]) * elem) : bytes;
  return { kind: 'storage-data', type: root.type, bytes: view };
}

/** numpy.core.multiarray.scalar(dtype, raw bytes) → a number (bool/int/float dtypes). */
function numpyScalar(dtype: unknown, raw: Buffer, source: string): number | boolean {
  const code = dtype instanceof PyObject ? String(dtype.args[0]) : String(dtype);
  const order = dtype instanceof PyObject && Array.isArray(dtype.state) ? dtype.state[1] : '<';
  const b = Buffer.from(raw); // a copy: reversing must not touch the pickle's own bytes
  if (order === '>') b.reverse();
  switch (code) {
    case 'f8':
      return b.readDoubleLE(0);
    case 'f4':
      return b.readFloatLE(0);
    case 'i8':
      return Number(b.readBigInt64LE(0));
    case 'u8':
      return Number(b.readBigUInt64LE(0));
    case 'i4':
      return b.readInt32LE(0);
    case 'u4':
      return b.readUInt32LE(0);
    case 'i2':
      return b.readInt16LE(0);
    case 'u2':
      return b.readUInt16LE(0);
    case 'i1':
      return b.readInt8(0);
    case 'u1':
      return b.readUInt8(0);
    case 'b1':
      return b[0] !== 0;
    default:
      throw new Error(`${source}: numpy scalar of dtype ${code} is not supported`);
  }
}

/** A short description of a value, for error messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (v instanceof PyObject) return `a ${v.cls} object`;
  if (v instanceof PickleGlobal) return v.toString();
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}
