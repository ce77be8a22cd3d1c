// Module state ↔ host tensors ↔ checkpoint files, with PyTorch's names, so checkpoints interoperate
// with the published PyTorch code in both directions: we write safetensors; we read safetensors and
// PyTorch .pth files, bare or wrapped as training scripts save them (io/state-dict.ts). The UNet's
// own loader with its checks and BCP's extra heads is models/unet-weights.ts.
import { saveSafetensors, type HostTensor } from '../io/safetensors.js';
import { readStateDict } from '../io/state-dict.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';

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
export function loadModuleFromHost(m: Module, host: Map<string, HostTensor>, prefix = '', strict = true): void {
  const state = new Map<string, Tensor>();
  for (const [k, h] of host) if (k.startsWith(prefix)) state.set(k.slice(prefix.length), fromHost(h, k));
  try {
    m.loadStateDict(state, { strict });
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

export async function saveModule(path: string, m: Module, metadata: Record<string, string> = {}): Promise<void> {
  saveSafetensors(path, await moduleToHost(m), metadata);
}

/** Load a checkpoint file (safetensors or .pth, see readStateDict) into a module; returns its metadata. */
export function loadModule(path: string, m: Module, strict = true): Record<string, string> {
  const { tensors, metadata } = readStateDict(path);
  try {
    loadModuleFromHost(m, tensors, '', strict);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return metadata;
}
