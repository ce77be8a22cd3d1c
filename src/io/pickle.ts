// A minimal unpickler for what torch.save writes (protocol 2, and the protocol-4 opcodes newer
// Pythons emit for the same data): containers, numbers, strings, the memo, GLOBAL + REDUCE for the
// few callables a state dict uses, BUILD, and persistent ids (tensor storages live outside the
// pickle). Nothing is ever executed: a GLOBAL resolves only through the caller's table, and any
// other callable is an error naming it.

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
}

const MARK = Symbol('mark');

export function unpickle(data: Uint8Array, hooks: UnpickleHooks, source = 'pickle'): unknown {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg} (at byte ${at})`);
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
    const s = buf.toString(enc, at, at + n);
    at += n;
    return s;
  };
  const setItems = (target: unknown, kv: unknown[]) => {
    if (!(target instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < kv.length; i += 2) (target as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };

  while (at < buf.length) {
    const op = buf[at++];
    switch (op) {
      case 0x80: // PROTO
        at += 1;
        break;
      case 0x95: // FRAME (protocol 4): a length we do not need
        at += 8;
        break;
      case 0x2e: // STOP
        return stack.pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
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
        stack.push(buf.readUInt8(at));
        at += 1;
        break;
      case 0x4d: // BININT2
        stack.push(buf.readUInt16LE(at));
        at += 2;
        break;
      case 0x4a: // BININT
        stack.push(buf.readInt32LE(at));
        at += 4;
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = buf[at++];
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]);
        if (n && buf[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        at += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(buf.readDoubleBE(at));
        at += 8;
        break;
      case 0x58: // BINUNICODE
        at += 4;
        stack.push(str(buf.readUInt32LE(at - 4), 'utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        at += 1;
        stack.push(str(buf[at - 1], 'utf8'));
        break;
      case 0x54: // BINSTRING
        at += 4;
        stack.push(str(buf.readUInt32LE(at - 4), 'latin1'));
        break;
      case 0x55: // SHORT_BINSTRING
        at += 1;
        stack.push(str(buf[at - 1], 'latin1'));
        break;
      case 0x71: // BINPUT
        memo.set(buf[at++], top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(buf.readUInt32LE(at), top());
        at += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memo.get(buf[at++]));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memo.get(buf.readUInt32LE(at)));
        at += 4;
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push(stack.splice(-1));
        break;
      case 0x86: // TUPLE2
        stack.push(stack.splice(-2));
        break;
      case 0x87: // TUPLE3
        stack.push(stack.splice(-3));
        break;
      case 0x61: {
        // APPEND
        const v = stack.pop();
        (top() as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        (top() as unknown[]).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = stack.pop();
        const k = stack.pop();
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
        const end2 = buf.indexOf(0x0a, end1 + 1);
        if (end1 < 0 || end2 < 0) fail('truncated GLOBAL');
        stack.push(new PickleGlobal(buf.toString('utf8', at, end1), buf.toString('utf8', end1 + 1, end2)));
        at = end2 + 1;
        break;
      }
      case 0x93: {
        // STACK_GLOBAL (protocol 4)
        const name = stack.pop() as string;
        const module = stack.pop() as string;
        stack.push(new PickleGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = stack.pop() as unknown[];
        const fn = stack.pop();
        if (!(fn instanceof PickleGlobal)) fail('REDUCE on something that is not a GLOBAL');
        stack.push(hooks.call(fn as PickleGlobal, args));
        break;
      }
      case 0x62: // BUILD: object state (an OrderedDict's `_metadata`); not needed for the data
        stack.pop();
        break;
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(stack.pop()));
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
  return fail('no STOP opcode');
}
