// An optimiser's state as one safetensors file (slots as flat f32 tensors `state.<i>.<slot>`, the
// kind, lr and step counts in the metadata), so that self-training can start from the optimiser
// state saved with the best pre-training checkpoint, as BCP's published code does
// (ACDC_BCP_train.py: save_net_opt at the best validation, load_net_opt in self_train).
import { type HostTensor, loadSafetensors, type Optimizer, type OptimizerStateDict, saveSafetensors } from '../engine/index.js';

export async function saveOptimizerState(path: string, optimizer: Optimizer, metadata: Record<string, string> = {}): Promise<void> {
  const sd = await optimizer.stateDict();
  const tensors = new Map<string, HostTensor>();
  sd.state.forEach((s, i) => {
    for (const [name, values] of Object.entries(s?.slots ?? {})) tensors.set(`state.${i}.${name}`, { dtype: 'F32', shape: [values.length], data: values });
  });
  const steps = sd.state.map((s) => (s ? s.step : -1));
  saveSafetensors(path, tensors, { ...metadata, kind: sd.kind, lr: String(sd.lr), steps: JSON.stringify(steps) });
}

/** The saved state (and the file's metadata). */
export function readOptimizerState(path: string): { state: OptimizerStateDict; metadata: Record<string, string> } {
  const { tensors, metadata } = loadSafetensors(path);
  const steps = JSON.parse(metadata.steps ?? 'null') as number[] | null;
  if (!metadata.kind || !Array.isArray(steps)) throw new Error(`${path}: not an optimiser state file (no kind/steps metadata)`);
  const state: OptimizerStateDict['state'] = steps.map((step, i) => {
    if (step < 0) return null;
    const slots: Record<string, Float32Array> = {};
    for (const [k, h] of tensors) {
      const prefix = `state.${i}.`;
      if (k.startsWith(prefix)) slots[k.slice(prefix.length)] = h.data as Float32Array;
    }
    return { step, slots };
  });
  return { state: { kind: metadata.kind, lr: Number(metadata.lr), state }, metadata };
}
