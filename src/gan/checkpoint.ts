// StyleGAN2 run files: the training checkpoint (three networks, both Adams and the loop state in one
// safetensors file, written atomically) and the standalone generator with its config in the metadata.
import { existsSync } from 'node:fs';
import { type Adam, type Generator, type HostTensor, loadModuleFromHost, loadSafetensors, type Module, moduleToHost, type OptimizerStateDict, saveSafetensors, StateDictMismatch } from '../engine/index.js';
import { UserError } from '../errors.js';
import { readStateDict, weightsFormatOf } from '../io/state-dict.js';
import { wrongModelMessage } from '../models/weights.js';
import { StyleGAN2Generator, type GeneratorConfig } from '../models/stylegan2/generator.js';
import type { SeededRng } from '../data/rng.js';
import type { AdaController } from './ada-controller.js';
import type { AugmentPipe } from './ada.js';
import type { RealImageSet } from './reals.js';
import { loadPklGenerator } from './pkl.js';

/** One snapshot's measurements. */
export interface GanSnapshot {
  kimg: number;
  fd?: number;
  kid?: number;
  /** Why the measurement failed, when it did (training went on). */
  error?: string;
}

export interface LoopState {
  step: number;
  nimg: number;
  plMean: number;
  ada: Awaited<ReturnType<AdaController['state']>> | null;
  augment: ReturnType<AugmentPipe['state']> | null;
  reals: ReturnType<RealImageSet['state']>;
  random: ReturnType<Generator['state']>;
  hostRandom: ReturnType<SeededRng['state']>;
  snapshots: GanSnapshot[];
  optG: Omit<OptimizerStateDict, 'state'> & { steps: (number | null)[] };
  optD: Omit<OptimizerStateDict, 'state'> & { steps: (number | null)[] };
}

export type Optimizers = Record<'optG' | 'optD', Adam>;
export type Networks = Record<'G' | 'D' | 'G_ema', Module>;

/**
 * One safetensors file: the three networks under their prefixes, each Adam slot as
 * `<opt>.<param index>.<slot>`, and the loop state (JSON) in the metadata — written atomically.
 */
export async function saveCheckpoint(path: string, nets: Networks, opts: Optimizers, loop: Omit<LoopState, 'optG' | 'optD'>): Promise<void> {
  const state = { ...loop } as LoopState;
  const tensors = new Map<string, HostTensor>();
  for (const [prefix, m] of Object.entries(nets)) for (const [k, v] of await moduleToHost(m, `${prefix}.`)) tensors.set(k, v);
  for (const [name, opt] of Object.entries(opts) as [keyof Optimizers, Adam][]) {
    const sd = await opt.stateDict();
    sd.state.forEach((s, i) => {
      for (const [slot, values] of Object.entries(s?.slots ?? {})) tensors.set(`${name}.${i}.${slot}`, { dtype: 'F32', shape: [values.length], data: values });
    });
    state[name] = { kind: sd.kind, lr: sd.lr, steps: sd.state.map((s) => s?.step ?? null) };
  }
  saveSafetensors(path, tensors, { state: JSON.stringify(state) });
}

export function loadCheckpoint(path: string, nets: Networks, opts: Optimizers): LoopState {
  const { tensors, metadata } = loadSafetensors(path);
  if (!metadata.state) throw new Error(`${path}: not a StyleGAN2 training checkpoint (no loop state); start a new run or pick another --out`);
  const state = JSON.parse(metadata.state) as LoopState;
  try {
    for (const [prefix, m] of Object.entries(nets)) loadModuleFromHost(m, tensors, `${prefix}.`);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message} (was the run started with other network options?)`);
  }
  for (const [name, opt] of Object.entries(opts) as [keyof Optimizers, Adam][]) {
    const saved = state[name];
    opt.loadStateDict({
      kind: saved.kind,
      lr: saved.lr,
      state: saved.steps.map((step, i) =>
        step === null ? null : { step, slots: { exp_avg: tensors.get(`${name}.${i}.exp_avg`)!.data as Float32Array, exp_avg_sq: tensors.get(`${name}.${i}.exp_avg_sq`)!.data as Float32Array } },
      ),
    });
  }
  return state;
}

/** A generator on its own, with the config that rebuilds it (what generate.js and fd.js read). */
export async function saveNetwork(path: string, G: StyleGAN2Generator, config: GeneratorConfig, kimg: number): Promise<void> {
  saveSafetensors(path, await moduleToHost(G), { format: 'sraseg-stylegan2-generator', config: JSON.stringify(config), kimg: String(kimg) });
}

/**
 * Rebuild a generator, ready for inference: one written by saveNetwork (or by training), or the
 * G_ema of an official StyleGAN2-ADA network-snapshot-*.pkl. The format is sniffed from the bytes.
 */
export function loadGenerator(path: string): StyleGAN2Generator {
  if (readGeneratorKind(path) === 'pkl') return loadPklGenerator(path);
  const { tensors, config } = readGeneratorFile(path);
  const G = new StyleGAN2Generator(config).eval();
  try {
    loadModuleFromHost(G, tensors);
  } catch (e) {
    G.dispose();
    if (e instanceof StateDictMismatch) throw e.withSource(path);
    throw e;
  }
  return G;
}

/**
 * What a generator file is, from its first bytes (not its extension): this project's safetensors or
 * an official StyleGAN2-ADA pickle. Missing files and torch zip archives are one-line UserErrors.
 */
export function readGeneratorKind(path: string): 'safetensors' | 'pkl' {
  if (!existsSync(path)) throw new UserError(`${path}: no such generator file (train one with bench/train-stylegan.js; it writes <out>/G_ema.safetensors)`);
  const format = weightsFormatOf(path);
  if (format === 'pickle') return 'pkl';
  if (format === 'pth') {
    throw new UserError(`${path}: a zip archive (a torch.save checkpoint?), not a generator: pass <run>/G_ema.safetensors or an official StyleGAN2-ADA network-snapshot-*.pkl`);
  }
  return 'safetensors';
}

/** Reads and checks a generator file on the CPU (before any work starts); one-line UserErrors name the file. */
export function readGeneratorFile(path: string): { tensors: Map<string, HostTensor>; config: GeneratorConfig } {
  if (readGeneratorKind(path) === 'pkl') throw new UserError(`${path}: an official StyleGAN2-ADA pickle; read it with loadStyleGanPkl (generate.js does)`);
  const { tensors, metadata } = readStateDict(path);
  const wrong = wrongModelMessage(path, tensors.keys(), 'stylegan2-generator');
  if (wrong) throw new UserError(`${wrong}; pass <run>/G_ema.safetensors`);
  if (metadata.format !== 'sraseg-stylegan2-generator' || !metadata.config) {
    throw new UserError(`${path}: a generator without its network config in the metadata (not written by this project); pass <run>/G_ema.safetensors`);
  }
  return { tensors, config: JSON.parse(metadata.config) as GeneratorConfig };
}
