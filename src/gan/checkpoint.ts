// StyleGAN2 run files besides the training checkpoint (that one has the format every trainer shares,
// src/train/checkpoint.ts): the standalone generator with its config in the metadata, which
// generate.js and fd.js read, and official StyleGAN2-ADA pickles sniffed from their bytes.
import { existsSync } from 'node:fs';
import { type HostTensor, loadModuleFromHost, moduleToHost, saveSafetensors, StateDictMismatch } from '../engine/index.js';
import { UserError } from '../errors.js';
import { readStateDict, weightsFormatOf } from '../io/state-dict.js';
import { wrongModelMessage } from '../models/weights.js';
import { StyleGAN2Generator, type GeneratorConfig } from '../models/stylegan2/generator.js';
import { loadPklGenerator } from './pkl.js';

/** One snapshot's measurements. */
export interface GanSnapshot {
  kimg: number;
  fd?: number;
  kid?: number;
  /** Why the measurement failed, when it did (training went on). */
  error?: string;
}

/** A generator on its own, with the config that rebuilds it (what generate.js and fd.js read). */
export async function saveNetwork(path: string, G: StyleGAN2Generator, config: GeneratorConfig, kimg: number): Promise<void> {
  saveNetworkHost(path, await moduleToHost(G), config, kimg);
}

/** The same from host weights (the trainer exports G_ema from the checkpoint's copy). */
export function saveNetworkHost(path: string, weights: Map<string, HostTensor>, config: GeneratorConfig, kimg: number): void {
  saveSafetensors(path, weights, { format: 'sraseg-stylegan2-generator', config: JSON.stringify(config), kimg: String(kimg) });
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
