// A minimal unpickler for what PyTorch and the StyleGAN2-ADA snapshots write (protocols 2–4, the
// binary opcodes only): containers, numbers, strings, bytes, sets, the memo, GLOBAL/STACK_GLOBAL with
// REDUCE, NEWOBJ and BUILD, and persistent ids. Nothing is ever executed: a GLOBAL is only a name
// (PickleGlobal), and what REDUCE, NEWOBJ and BUILD make of it is decided by the caller's hooks — a
// caller that does not know a callable refuses it or records it as inert data, never imports it.
// Every read is bounds-checked, so a truncated file is an error that says so.

/** A GLOBAL opcode's reference: `module name`, e.g. `torch._utils _rebuild_tensor_v2`. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleHooks {
  /** Call a GLOBAL with REDUCE's argument tuple. */
  call(fn: PickleGlobal, args: unknown[]): unknown;
  /** Resolve a persistent id (BINPERSID). */
  persistentLoad(pid: unknown): unknown;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`. Without the hook: an error naming cls. */
  newObject?(cls: PickleGlobal, args: unknown[], kwargs: Map<unknown, unknown> | null): unknown;
  /** BUILD: set `state` on `obj` (`__setstate__`). Without the hook the state is dropped. */
  build?(obj: unknown, state: unknown): void;
}

/** Thrown for input that ends before its STOP opcode (a truncated file). */
export class PickleTruncatedError extends Error {}

/** True when the bytes start like a binary pickle (protocol 2–5): `\x80` then the protocol. */
export function looksLikePickle(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
}

const MARK = Symbol('mark');

/** Unpickle one object from `data` (which must hold exactly what the pickle needs, or more). */
export function unpickle(data: Uint8Array, hooks: UnpickleHooks, source = 'pickle'): unknown {
  return unpickleAt(data, 0, hooks, source).value;
}

/**
 * Unpickle the object that starts at byte `start` and return it with the offset just past its STOP
 * opcode — for formats that put several pickles back to back (the legacy `torch.save` layout).
 */
export function unpickleAt(data: Uint8Array, start: number, hooks: UnpickleHooks, source = 'pickle'): { value: unknown; end: number } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let at = start;
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg} (at byte ${at})`);
  };
  /** Claim n more bytes, or fail: the file ends inside an opcode. */
  const need = (n: number) => {
    if (at + n > buf.length) {
      throw new PickleTruncatedError(`${source}: truncated pickle: it ends at byte ${buf.length} inside an opcode that needs ${at + n - buf.length} more bytes (an incomplete download or copy?)`);
    }
  };
  const pop = (): unknown => {
    if (!stack.length || stack[stack.length - 1] === MARK) fail('stack underflow');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail('MARK expected');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const top = () => stack[stack.length - 1];
  const str = (n: number, enc: BufferEncoding) => {
    need(n);
    const s = buf.toString(enc, at, at + n);
    at += n;
    return s;
  };
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(at, at + n);
    at += n;
    return b;
  };
  const u8 = () => {
    need(1);
    return buf[at++];
  };
  const u32 = () => {
    need(4);
    at += 4;
    return buf.readUInt32LE(at - 4);
  };
  const u64 = () => {
    need(8);
    at += 8;
    const v = buf.readBigUInt64LE(at - 8);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large');
    return Number(v);
  };
  const long = (n: number) => {
    // Little-endian two's complement of n bytes; a Number when exact, else a BigInt.
    need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]);
    if (n && buf[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    at += n;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (target: unknown, kv: unknown[]) => {
    if (!(target instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < kv.length; i += 2) (target as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const addItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Set)) fail('ADDITEMS on something that is not a set');
    for (const v of items) (target as Set<unknown>).add(v);
  };
  const list = (): unknown[] => {
    const l = top();
    if (!Array.isArray(l)) fail('APPEND(S) on something that is not a list');
    return l as unknown[];
  };
  const newObject = (cls: unknown, args: unknown, kwargs: Map<unknown, unknown> | null) => {
    if (!(cls instanceof PickleGlobal)) fail('NEWOBJ on something that is not a class');
    if (!hooks.newObject) fail(`unsupported object in pickle: ${String(cls)}`);
    return hooks.newObject!(cls as PickleGlobal, args as unknown[], kwargs);
  };

  while (at < buf.length) {
    const op = buf[at++];
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME (protocol 4): a length we do not need
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: at };
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        addItems(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(buf.readUInt16LE(at));
        at += 2;
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(buf.readInt32LE(at));
        at += 4;
        break;
      case 0x8a: // LONG1
        stack.push(long(u8()));
        break;
      case 0x8b: {
        // LONG4
        const n = u32();
        stack.push(long(n));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(buf.readDoubleBE(at));
        at += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(str(u32(), 'utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(u8(), 'utf8'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64(), 'utf8'));
        break;
      case 0x54: // BINSTRING
        stack.push(str(u32(), 'latin1'));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(str(u8(), 'latin1'));
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(bytes(u64()));
        break;
      case 0x96: // BYTEARRAY8
        stack.push(bytes(u64()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo entry ${i} read before it was written`);
        stack.push(memo.get(i));
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        list().push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        list().push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const end1 = buf.indexOf(0x0a, at);
        const end2 = end1 < 0 ? -1 : buf.indexOf(0x0a, end1 + 1);
        if (end1 < 0 || end2 < 0) need(buf.length - at + 1);
        stack.push(new PickleGlobal(buf.toString('utf8', at, end1), buf.toString('utf8', end1 + 1, end2)));
        at = end2 + 1;
        break;
      }
      case 0x93: {
        // STACK_GLOBAL (protocol 4)
        const name = pop();
        const module = pop();
        if (typeof name !== 'string' || typeof module !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(new PickleGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleGlobal)) fail('REDUCE on something that is not a GLOBAL');
        if (!Array.isArray(args)) fail(`REDUCE of ${String(fn)} without an argument tuple`);
        stack.push(hooks.call(fn as PickleGlobal, args as unknown[]));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(newObject(pop(), args, null));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        stack.push(newObject(pop(), args, kwargs instanceof Map ? kwargs : null));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        hooks.build?.(top(), state);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
  throw new PickleTruncatedError(`${source}: truncated pickle: it ends at byte ${buf.length} before its STOP opcode (an incomplete download or copy?)`);
}
