// Network snapshots of the official StyleGAN2-ADA code (NVlabs/stylegan2-ada-pytorch,
// training/training_loop.py): `network-snapshot-NNNNNN.pkl` is `pickle.dump` of a dict
//   { training_set_kwargs, G, D, G_ema, augment_pipe }
// whose networks are torch_utils.persistence objects: each pickles as
//   torch_utils.persistence._reconstruct_persistent_obj({type: 'class', version, module_src,
//                                                          class_name, state})
// with `state` the module's __dict__ (`_parameters`, `_buffers`, `_modules`, `_init_args`,
// `_init_kwargs`, …) and `module_src` the SOURCE TEXT of the Python module that defined the class,
// which the official loader executes. This reader executes nothing and never reads module_src: it
// walks the state as data and returns, per network, the class name, the constructor arguments
// (the network configuration) and the parameters and buffers under their state-dict names.
import { UserError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { looksLikePickle, PickleGlobal, unpickle } from './pickle.js';
import { gather } from './pth.js';
import type { HostTensor } from '../engine/index.js';
import { PyObject, describe, isTensorData, torchPickleHooks, type TensorData } from './torch-pickle.js';

/** One network of a snapshot. */
export interface PklNetwork {
  /** The class name persistence recorded: 'Generator', 'Discriminator', 'AugmentPipe'. */
  className: string;
  /** The constructor's positional and keyword arguments, as plain JSON-like values. */
  initArgs: unknown[];
  initKwargs: Record<string, unknown>;
  /** Parameters and persistent buffers by their state-dict names, in PyTorch's order. */
  tensors: Map<string, HostTensor>;
}

export interface StyleGanPkl {
  source: string;
  /** The data set's kwargs (path, resolution, use_labels, xflip, …), or null when absent. */
  trainingSetKwargs: Record<string, unknown> | null;
  /** The networks present: any of 'G', 'D', 'G_ema', 'augment_pipe'. */
  networks: Map<string, PklNetwork>;
}

export const SNAPSHOT_NETWORKS = ['G', 'D', 'G_ema', 'augment_pipe'] as const;

/** What `_reconstruct_persistent_obj` would rebuild, kept as data. */
class PersistentObject {
  constructor(
    readonly className: string,
    readonly state: Map<unknown, unknown>,
  ) {}
}

const PERSISTENT = 'torch_utils.persistence._reconstruct_persistent_obj';

export function decodeStyleGanPkl(buf: Buffer, source = 'network pickle'): StyleGanPkl {
  if (!looksLikePickle(buf)) throw new UserError(`${source}: not a pickle (a StyleGAN2-ADA network-snapshot-*.pkl starts with a pickle header)`);
  const hooks = torchPickleHooks(source, (fn, args) => (fn.toString() === PERSISTENT ? persistent(args[0], source) : undefined));
  const root = unpickle(buf, hooks, source);
  if (!(root instanceof Map)) throw new UserError(`${source}: the pickle holds ${describe(root)}, not the dict of a StyleGAN2-ADA network snapshot`);
  const networks = new Map<string, PklNetwork>();
  for (const key of SNAPSHOT_NETWORKS) {
    const value = root.get(key);
    if (value === undefined || value === null) continue;
    if (!(value instanceof PersistentObject)) throw new UserError(`${source}: '${key}' is ${describe(value)}, not a torch_utils.persistence network`);
    networks.set(key, readNetwork(value, `${source}: ${key}`));
  }
  const tsk = root.get('training_set_kwargs');
  return { source, trainingSetKwargs: tsk instanceof Map ? (toPlain(tsk) as Record<string, unknown>) : null, networks };
}

export function loadStyleGanPkl(path: string): StyleGanPkl {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UserError(`cannot read network pickle ${path}: ${(e as Error).message}`);
  }
  return decodeStyleGanPkl(buf, path);
}

/** `_reconstruct_persistent_obj(meta)`, as data. module_src is deliberately never read. */
function persistent(meta: unknown, source: string): PersistentObject {
  if (!(meta instanceof Map)) throw new UserError(`${source}: a persistent object without its meta dict`);
  const type = meta.get('type');
  const className = meta.get('class_name');
  const state = meta.get('state');
  if (type !== 'class' || typeof className !== 'string' || !(state instanceof Map)) {
    throw new UserError(`${source}: a persistent object of an unknown layout (type ${describe(type)}, version ${describe(meta.get('version'))})`);
  }
  return new PersistentObject(className, state);
}

function readNetwork(obj: PersistentObject, source: string): PklNetwork {
  const refs = new Map<string, TensorData>();
  collectModule(obj.state, '', refs, source);
  const tensors = new Map<string, HostTensor>();
  for (const [name, ref] of refs) tensors.set(name, gather(ref, ref.storage.bytes, name, source));
  const kwargs = obj.state.get('_init_kwargs');
  const args = obj.state.get('_init_args');
  return {
    className: obj.className,
    initArgs: Array.isArray(args) ? (toPlain(args) as unknown[]) : [],
    initKwargs: kwargs instanceof Map ? (toPlain(kwargs) as Record<string, unknown>) : {},
    tensors,
  };
}

/** A module's __dict__ → its state dict: own parameters, persistent buffers, then each child's. */
function collectModule(state: Map<unknown, unknown>, prefix: string, into: Map<string, TensorData>, source: string): void {
  const dict = (key: string): Map<unknown, unknown> => {
    const d = state.get(key);
    if (d === undefined) return new Map();
    if (!(d instanceof Map)) throw new UserError(`${source}: module ${prefix || '(root)'} has ${key} = ${describe(d)}`);
    return d;
  };
  const nonPersistent = state.get('_non_persistent_buffers_set');
  const skip = nonPersistent instanceof Set ? nonPersistent : new Set(Array.isArray(nonPersistent) ? nonPersistent : []);
  const tensor = (kind: string, name: unknown, v: unknown) => {
    if (v === null) return; // a registered-but-None parameter or buffer is not in the state dict
    if (!isTensorData(v)) throw new UserError(`${source}: ${kind} ${prefix}${String(name)} is ${describe(v)}, not a tensor`);
    into.set(`${prefix}${String(name)}`, v);
  };
  for (const [k, v] of dict('_parameters')) tensor('parameter', k, v);
  for (const [k, v] of dict('_buffers')) if (!skip.has(k)) tensor('buffer', k, v);
  for (const [k, child] of dict('_modules')) {
    if (child === null) continue;
    const childState = child instanceof PersistentObject ? child.state : child instanceof PyObject && child.state instanceof Map ? child.state : null;
    if (!childState) throw new UserError(`${source}: submodule ${prefix}${String(k)} is ${describe(child)}, not a module`);
    collectModule(childState, `${prefix}${String(k)}.`, into, source);
  }
}

/** Python values → JSON-like JS values (dicts, EasyDicts → objects; tuples, sets → arrays). */
function toPlain(v: unknown): unknown {
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = toPlain(x);
    // An inert object that is not a dict subclass: say what it was rather than pretend it is empty.
    if (v instanceof PyObject && v.size === 0 && v.cls.name !== 'EasyDict') return { __class__: v.cls.toString() };
    return o;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Set) return [...v].map(toPlain);
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PickleGlobal) return v.toString();
  if (isTensorData(v)) return { __tensor__: v.shape };
  if (v instanceof Uint8Array) return { __bytes__: v.length };
  return v;
}
