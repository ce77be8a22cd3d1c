// Module state ↔ host tensors ↔ safetensors files, with PyTorch's names, so checkpoints interoperate
// with the published PyTorch code (its state_dict saved as safetensors) in both directions.
import { loadSafetensors, saveSafetensors, type HostTensor } from '../io/safetensors.js';
import { tidy } from '../tensor/scope.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';
import { StateDictMismatch } from '../errors.js';

export async function toHost(t: Tensor): Promise<HostTensor> {
  const data = await t.data();
  return { dtype: t.dtype === 'f32' ? 'F32' : t.dtype === 'i32' ? 'I32' : 'U32', shape: [...t.shape], data };
}

export async function moduleToHost(m: Module, prefix = ''): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of m.stateDict()) out.set(prefix + name, await toHost(t));
  return out;
}

/** Upload a host tensor as f32/i32 (PyTorch's int64 counters become i32, f64 becomes f32). */
export function fromHost(h: HostTensor, name: string): Tensor {
  switch (h.dtype) {
    case 'F32':
      return tensor(h.data as Float32Array, h.shape, 'f32');
    case 'F64':
      return tensor(Float32Array.from(h.data as Float64Array), h.shape, 'f32');
    case 'I32':
      return tensor(h.data as Int32Array, h.shape, 'i32');
    case 'I64':
      return tensor(Int32Array.from(h.data as BigInt64Array, (v) => Number(v)), h.shape, 'i32');
    case 'U32':
      return tensor(h.data as Uint32Array, h.shape, 'u32');
    default:
      throw new Error(`checkpoint: tensor '${name}' has dtype ${h.dtype}, which this engine cannot load`);
  }
}

/** Load the entries under `prefix` into a module (strict: missing/unexpected keys are an error). */
/** Load the entries under `prefix` into a module (strict: missing/unexpected keys are an error). The uploads live in a scope of their own, so this is safe to call anywhere. */
export function loadModuleFromHost(m: Module, host: Map<string, HostTensor>, prefix = '', strict = true): void {
  tidy(() => {
    const state = new Map<string, Tensor>();
    for (const [k, h] of host) if (k.startsWith(prefix)) state.set(k.slice(prefix.length), fromHost(h, k));
    m.loadStateDict(state, { strict });
  });
}

export async function saveModule(path: string, m: Module, metadata: Record<string, string> = {}): Promise<void> {
  saveSafetensors(path, await moduleToHost(m), metadata);
}

export function loadModule(path: string, m: Module, strict = true): Record<string, string> {
  const { tensors, metadata } = loadSafetensors(path);
  try {
    loadModuleFromHost(m, tensors, '', strict);
  } catch (e) {
    if (e instanceof StateDictMismatch) throw e.withSource(path);
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return metadata;
}
