// The one training checkpoint format, shared by the UNet stages and the StyleGAN2 trainer: a single
// safetensors file, written atomically (temporary file, fsync, rename), holding everything a resume
// needs, so a kill at any moment leaves either the previous checkpoint or the new one — never weights
// of one iteration with optimiser state of another.
//
//   tensors   <group>.<parameter name>      module weights and buffers (PyTorch names), e.g.
//                                           student.*, teacher.*, G.*, D.*, G_ema.*, best.student.*
//             <optimizer>.<index>.<slot>    optimiser state per parameter, e.g. optimizer.3.momentum_buffer,
//                                           optG.0.exp_avg (index: the optimiser's parameter order)
//   metadata  format   'sraseg-training-checkpoint', version '1'
//             trainer  'unet-stage' | 'stylegan2' (a checkpoint of one is refused by the other)
//             iteration the loop counter it was taken at (GAN: minibatch step)
//             groups   JSON list of the module groups
//             optimizers JSON {name: {kind, lr, steps: (number | null)[]}}
//             state    JSON loop and method state (best score, RNG and sampler states, …)
//
// Files for users (model_best/model_last, G_ema…) are exports written after it; a resume rewrites
// them from the checkpoint, so a kill between two of them heals.
import { type HostTensor, loadModuleFromHost, loadSafetensors, type Module, moduleToHost, type Optimizer, type OptimizerStateDict, readSafetensorsMetadata, saveSafetensors, StateDictMismatch } from '../engine/index.js';
import { DivergenceError, UserError } from '../errors.js';
import { crashPoint } from './crash-points.js';
import { firstNonFinite } from './divergence.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'sraseg-training-checkpoint';
const VERSION = '1';

export type TrainerKind = 'unet-stage' | 'stylegan2';

export interface Checkpoint<S> {
  trainer: TrainerKind;
  iteration: number;
  /** Module weights by group (host copies: the same maps feed the exports). */
  groups: Record<string, Map<string, HostTensor>>;
  optimizers: Record<string, OptimizerStateDict>;
  state: S;
}

interface OptimizerMeta {
  kind: string;
  lr: number;
  steps: (number | null)[];
}

/** Host copies of modules' state, by group. */
export async function hostGroups(modules: Record<string, Module>): Promise<Record<string, Map<string, HostTensor>>> {
  const out: Record<string, Map<string, HostTensor>> = {};
  for (const [name, m] of Object.entries(modules)) out[name] = await moduleToHost(m);
  return out;
}

export async function hostOptimizers(optimizers: Record<string, Optimizer>): Promise<Record<string, OptimizerStateDict>> {
  const out: Record<string, OptimizerStateDict> = {};
  for (const [name, o] of Object.entries(optimizers)) out[name] = await o.stateDict();
  return out;
}

/**
 * Writes the checkpoint atomically. Refuses (DivergenceError) to write a non-finite weight or
 * optimiser value: the last line of defence behind the divergence watch.
 */
export function writeCheckpoint<S>(path: string, ck: Checkpoint<S>): void {
  checkNames([...Object.keys(ck.groups), ...Object.keys(ck.optimizers)]);
  const tensors = new Map<string, HostTensor>();
  for (const [group, host] of Object.entries(ck.groups)) for (const [k, v] of host) tensors.set(`${group}.${k}`, v);
  const optimizers: Record<string, OptimizerMeta> = {};
  for (const [name, sd] of Object.entries(ck.optimizers)) {
    sd.state.forEach((s, i) => {
      for (const [slot, values] of Object.entries(s?.slots ?? {})) tensors.set(`${name}.${i}.${slot}`, { dtype: 'F32', shape: [values.length], data: values });
    });
    optimizers[name] = { kind: sd.kind, lr: sd.lr, steps: sd.state.map((s) => s?.step ?? null) };
  }
  const bad = firstNonFinite(tensors);
  if (bad) {
    const term = bad.split('.')[0];
    throw new DivergenceError(`${term} weights`, ck.iteration, `training diverged: refusing to write a checkpoint at ${ck.iteration} holding ${bad}; nothing was saved. Lower the learning rate (--lr)`);
  }
  const metadata = {
    format: FORMAT,
    version: VERSION,
    trainer: ck.trainer,
    iteration: String(ck.iteration),
    groups: JSON.stringify(Object.keys(ck.groups)),
    optimizers: JSON.stringify(optimizers),
    state: JSON.stringify(ck.state),
  };
  saveSafetensors(path, tensors, metadata, { beforeRename: () => crashPoint('checkpoint-tmp') });
  crashPoint('checkpoint');
}

/** Group and optimiser names must not be prefixes of each other's tensor names ("G" and "G.x" would mix). */
function checkNames(names: string[]): void {
  for (const a of names) for (const b of names) if (a !== b && b.startsWith(`${a}.`)) throw new Error(`checkpoint: group '${b}' lies under group '${a}'`);
  if (new Set(names).size !== names.length) throw new Error(`checkpoint: duplicate group names in ${names.join(', ')}`);
}

/** The trainer and iteration of a checkpoint, from its header only (the run-folder checks). */
export function readCheckpointInfo(path: string, trainer: TrainerKind): { iteration: number } {
  const meta = readSafetensorsMetadata(path);
  checkFormat(path, meta, trainer);
  return { iteration: Number(meta.iteration) };
}

/** Reads a whole checkpoint on the CPU; a file of another format or trainer is a UserError. */
export function readCheckpoint<S>(path: string, trainer: TrainerKind): Checkpoint<S> {
  const { tensors, metadata } = loadSafetensors(path);
  checkFormat(path, metadata, trainer);
  const groupNames = JSON.parse(metadata.groups) as string[];
  const optMeta = JSON.parse(metadata.optimizers) as Record<string, OptimizerMeta>;
  const groups: Record<string, Map<string, HostTensor>> = {};
  for (const g of groupNames) groups[g] = new Map();
  const slots: Record<string, Record<number, Record<string, Float32Array>>> = {};
  for (const name of Object.keys(optMeta)) slots[name] = {};
  for (const [key, t] of tensors) {
    const g = groupNames.find((n) => key.startsWith(`${n}.`));
    if (g) {
      groups[g].set(key.slice(g.length + 1), t);
      continue;
    }
    const m = /^(.+)\.(\d+)\.([^.]+)$/.exec(key);
    if (!m || !slots[m[1]]) throw new UserError(`${path}: unexpected tensor '${key}' in a training checkpoint; the file is damaged: start a fresh run`);
    (slots[m[1]][Number(m[2])] ??= {})[m[3]] = t.data as Float32Array;
  }
  const optimizers: Record<string, OptimizerStateDict> = {};
  for (const [name, o] of Object.entries(optMeta)) {
    optimizers[name] = { kind: o.kind, lr: o.lr, state: o.steps.map((step, i) => (step === null ? null : { step, slots: slots[name][i] ?? {} })) };
  }
  return { trainer, iteration: Number(metadata.iteration), groups, optimizers, state: JSON.parse(metadata.state) as S };
}

function checkFormat(path: string, meta: Record<string, string>, trainer: TrainerKind): void {
  if (meta.format !== FORMAT) {
    throw new UserError(`${path}: not a training checkpoint of this version (no '${FORMAT}' tag; an older run?): it cannot be resumed; start a fresh run with another --out`);
  }
  if (meta.version !== VERSION) throw new UserError(`${path}: training checkpoint version ${meta.version}, this program reads version ${VERSION}; start a fresh run`);
  if (meta.trainer !== trainer) throw new UserError(`${path}: a checkpoint of the ${meta.trainer} trainer, not of ${trainer}; resume it with the command that wrote it`);
}

/** Loads the named groups into modules; a shape or name mismatch is a UserError naming the file. */
export function restoreModules(path: string, ck: Checkpoint<unknown>, modules: Record<string, Module>): void {
  for (const [name, m] of Object.entries(modules)) {
    const host = ck.groups[name];
    if (!host) throw new UserError(`${path}: the checkpoint has no '${name}' weights (was the run started with other options?)`);
    try {
      loadModuleFromHost(m, host);
    } catch (e) {
      if (e instanceof StateDictMismatch) throw new UserError(`${path}: ${e.withSource(`${name} weights`).message} (was the run started with other options?)`);
      throw e;
    }
  }
}

/**
 * Loads optimiser state. The learning rate stays the one the optimiser was built with (the run's
 * flags: equal to the saved one unless the resume was allowed to change it).
 */
export function restoreOptimizers(path: string, ck: Checkpoint<unknown>, optimizers: Record<string, Optimizer>): void {
  for (const [name, o] of Object.entries(optimizers)) {
    const saved = ck.optimizers[name];
    if (!saved) throw new UserError(`${path}: the checkpoint has no '${name}' optimiser state`);
    const lr = o.lr;
    try {
      o.loadStateDict(saved);
    } catch (e) {
      throw new UserError(`${path}: ${name}: ${(e as Error).message} (was the run started with other options?)`);
    }
    o.lr = lr;
  }
}
