// Official StyleGAN2-ADA snapshots (network-snapshot-*.pkl, read by src/io/stylegan-pkl.ts) as this
// engine's networks: the constructor kwargs the pickle recorded become GeneratorConfig /
// DiscriminatorConfig / augment settings (the published defaults fill what a pickle leaves out, as
// the official constructors do), and the weights load strictly by their state-dict names. Whatever
// the engine does not implement — conditioning, other architectures, other filters, Freeze-D, … — is
// refused in one line naming the setting, never approximated.
import { UserError } from '../errors.js';
import { loadStyleGanPkl, type PklNetwork, type StyleGanPkl } from '../io/stylegan-pkl.js';
import { type HostTensor, loadModuleFromHost, type Module } from '../engine/index.js';
import { Discriminator, type DiscriminatorConfig } from '../models/stylegan2/discriminator.js';
import { StyleGAN2Generator, type GeneratorConfig } from '../models/stylegan2/generator.js';
import { RESAMPLE_TAPS } from '../models/stylegan2/layers.js';
import { AUGMENT_RANGES, type AugmentProbabilities, type AugmentRanges } from './ada.js';

/** A configuration the engine cannot reproduce; the message is one line naming the setting. */
export class UnsupportedPklConfigError extends UserError {}

type Kw = Record<string, unknown>;

/** Reads one kwargs dict: every key must be known (a key we ignore could change the network). */
class Kwargs {
  constructor(
    private readonly kw: Kw,
    private readonly where: string,
    known: readonly string[],
  ) {
    if (typeof kw !== 'object' || kw === null || Array.isArray(kw)) this.unsupported(`expected a dict of settings, got ${JSON.stringify(kw)}`);
    const extra = Object.keys(kw).filter((k) => !known.includes(k));
    if (extra.length) this.unsupported(`${extra.join(', ')} (settings this engine does not know)`);
  }

  unsupported(what: string): never {
    throw new UnsupportedPklConfigError(`${this.where}: unsupported configuration: ${what}`);
  }

  raw(key: string, fallback: unknown): unknown {
    return this.kw[key] === undefined ? fallback : this.kw[key];
  }

  num(key: string, fallback?: number): number {
    const v = this.raw(key, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.unsupported(`${key} = ${JSON.stringify(v)} (a number is required)`);
    return v as number;
  }

  numOrNull(key: string, fallback: number | null): number | null {
    const v = this.raw(key, fallback);
    return v === null ? null : this.num(key, fallback ?? undefined);
  }

  sub(key: string, known: readonly string[]): Kwargs {
    return new Kwargs((this.raw(key, {}) ?? {}) as Kw, `${this.where}.${key}`, known);
  }

  /** The setting must equal the one value the engine implements. */
  only(key: string, fallback: unknown, supported: unknown, what: string): void {
    const v = this.raw(key, fallback);
    if (JSON.stringify(v) !== JSON.stringify(supported)) this.unsupported(`${key} = ${JSON.stringify(v)} (${what})`);
  }
}

/** Keyword view of a constructor call: positional init_args named in signature order. */
function kwargsOf(net: PklNetwork, where: string, signature: readonly string[], expectClass: string): Kw {
  if (net.className !== expectClass) {
    throw new UnsupportedPklConfigError(`${where}: unsupported configuration: class ${net.className} (expected StyleGAN2-ADA's ${expectClass})`);
  }
  const kw: Kw = { ...net.initKwargs };
  net.initArgs.forEach((v, i) => (kw[signature[i] ?? `arg${i}`] = v));
  return kw;
}

function powerOfTwo(k: Kwargs, key: string, min: number): number {
  const r = k.num(key);
  if (!(r >= min && Number.isInteger(Math.log2(r)))) k.unsupported(`${key} = ${r} (a power of two ≥ ${min} is required)`);
  return r;
}

const G_SIGNATURE = ['z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels', 'mapping_kwargs', 'synthesis_kwargs'] as const;
const D_SIGNATURE = ['c_dim', 'img_resolution', 'img_channels', 'architecture', 'channel_base', 'channel_max', 'num_fp16_res', 'conv_clamp', 'cmap_dim', 'block_kwargs', 'mapping_kwargs', 'epilogue_kwargs'] as const;

/** A Generator's init kwargs → GeneratorConfig (published defaults from training/networks.py). */
export function generatorConfigFromPkl(net: PklNetwork, where: string): GeneratorConfig {
  const k = new Kwargs(kwargsOf(net, where, G_SIGNATURE, 'Generator'), where, G_SIGNATURE);
  const cDim = k.num('c_dim');
  if (cDim !== 0) k.unsupported(`conditional generator (c_dim ${cDim}); this engine's StyleGAN2 is unconditional (c_dim 0)`);
  const zDim = k.num('z_dim');
  if (!(zDim >= 1)) k.unsupported(`z_dim = ${zDim} (a latent is required)`);
  const wDim = k.num('w_dim');
  const m = k.sub('mapping_kwargs', ['num_layers', 'embed_features', 'layer_features', 'activation', 'lr_multiplier', 'w_avg_beta']);
  const layerFeatures = m.raw('layer_features', null);
  if (layerFeatures !== null && layerFeatures !== wDim) m.unsupported(`layer_features = ${JSON.stringify(layerFeatures)} (the engine's mapping layers are w_dim = ${wDim} wide)`);
  m.only('activation', 'lrelu', 'lrelu', "the engine's mapping uses leaky ReLU");
  if (m.raw('w_avg_beta', 0.995) === null) m.unsupported('w_avg_beta = None (the engine always tracks w_avg)');
  const s = k.sub('synthesis_kwargs', [
    'channel_base', 'channel_max', 'num_fp16_res', 'architecture', 'resample_filter', 'conv_clamp', 'use_noise',
    'activation', 'kernel_size', 'fp16_channels_last', 'fused_modconv_default',
  ]);
  s.only('architecture', 'skip', 'skip', "the engine's synthesis network is 'skip'");
  s.only('resample_filter', [1, 3, 3, 1], RESAMPLE_TAPS, 'the engine resamples with [1, 3, 3, 1]');
  s.only('use_noise', true, true, "the engine's synthesis layers have noise inputs");
  s.only('activation', 'lrelu', 'lrelu', "the engine's synthesis uses leaky ReLU");
  s.only('kernel_size', 3, 3, "the engine's synthesis convolutions are 3×3");
  // num_fp16_res, fp16_channels_last, fused_modconv_default change speed and precision only: the
  // engine computes in f32 (what the official code does on the CPU, with force_fp32).
  return {
    zDim,
    wDim,
    imgResolution: powerOfTwo(k, 'img_resolution', 4),
    imgChannels: k.num('img_channels'),
    mappingLayers: m.num('num_layers', 8),
    channelBase: s.num('channel_base', 32768),
    channelMax: s.num('channel_max', 512),
    convClamp: s.numOrNull('conv_clamp', null),
    mappingLrMultiplier: m.num('lr_multiplier', 0.01),
    wAvgBeta: m.num('w_avg_beta', 0.995),
    seed: 0, // the weights come from the pickle
  };
}

/** A Discriminator's init kwargs → DiscriminatorConfig. */
export function discriminatorConfigFromPkl(net: PklNetwork, where: string): DiscriminatorConfig {
  const k = new Kwargs(kwargsOf(net, where, D_SIGNATURE, 'Discriminator'), where, D_SIGNATURE);
  const cDim = k.num('c_dim');
  if (cDim !== 0) k.unsupported(`conditional discriminator (c_dim ${cDim}); this engine's StyleGAN2 is unconditional (c_dim 0)`);
  k.only('architecture', 'resnet', 'resnet', "the engine's discriminator is 'resnet'");
  const b = k.sub('block_kwargs', ['activation', 'resample_filter', 'fp16_channels_last', 'freeze_layers']);
  b.only('activation', 'lrelu', 'lrelu', "the engine's discriminator uses leaky ReLU");
  b.only('resample_filter', [1, 3, 3, 1], RESAMPLE_TAPS, 'the engine resamples with [1, 3, 3, 1]');
  b.only('freeze_layers', 0, 0, 'Freeze-D is not implemented');
  k.sub('mapping_kwargs', ['num_layers', 'embed_features', 'layer_features', 'activation', 'lr_multiplier', 'w_avg_beta']); // unused at c_dim 0
  const e = k.sub('epilogue_kwargs', ['mbstd_group_size', 'mbstd_num_channels', 'activation']);
  e.only('activation', 'lrelu', 'lrelu', "the engine's discriminator uses leaky ReLU");
  if (e.raw('mbstd_group_size', 4) === null) e.unsupported('mbstd_group_size = None (a fixed group size is required)');
  return {
    imgResolution: powerOfTwo(k, 'img_resolution', 8),
    imgChannels: k.num('img_channels'),
    channelBase: k.num('channel_base', 32768),
    channelMax: k.num('channel_max', 512),
    convClamp: k.numOrNull('conv_clamp', null),
    mbstdGroupSize: e.num('mbstd_group_size', 4),
    mbstdChannels: e.num('mbstd_num_channels', 1),
    seed: 0,
  };
}

const AUGMENT_MULTIPLIERS: Record<keyof AugmentProbabilities, string> = {
  xflip: 'xflip', rotate90: 'rotate90', xint: 'xint', scale: 'scale', rotate: 'rotate', aniso: 'aniso', xfrac: 'xfrac',
  brightness: 'brightness', contrast: 'contrast', lumaflip: 'lumaflip', hue: 'hue', saturation: 'saturation',
};
const AUGMENT_RANGE_KEYS: Record<keyof AugmentRanges, string> = {
  xintMax: 'xint_max', scaleStd: 'scale_std', rotateMax: 'rotate_max', anisoStd: 'aniso_std', xfracStd: 'xfrac_std',
  brightnessStd: 'brightness_std', contrastStd: 'contrast_std', hueMax: 'hue_max', saturationStd: 'saturation_std',
};

export interface PklAugment {
  /** ADA's current augmentation probability (the pipe's `p` buffer). */
  p: number;
  probabilities: AugmentProbabilities;
  ranges: AugmentRanges;
}

/** The AugmentPipe's kwargs (published defaults: every multiplier 0) and its p. */
export function augmentFromPkl(net: PklNetwork, where: string): PklAugment {
  const filters = ['imgfilter', 'imgfilter_bands', 'imgfilter_std', 'noise', 'cutout', 'noise_std', 'cutout_size'];
  const k = new Kwargs(kwargsOf(net, where, [], 'AugmentPipe'), where, [...Object.values(AUGMENT_MULTIPLIERS), ...Object.values(AUGMENT_RANGE_KEYS), ...filters]);
  for (const key of ['imgfilter', 'noise', 'cutout']) k.only(key, 0, 0, "the engine's augment pipe has blits, geometry and colour only");
  const probabilities = Object.fromEntries(Object.entries(AUGMENT_MULTIPLIERS).map(([ours, theirs]) => [ours, k.num(theirs, 0)])) as unknown as AugmentProbabilities;
  const ranges = Object.fromEntries(
    Object.entries(AUGMENT_RANGE_KEYS).map(([ours, theirs]) => [ours, k.num(theirs, AUGMENT_RANGES[ours as keyof AugmentRanges])]),
  ) as unknown as AugmentRanges;
  const p = net.tensors.get('p');
  if (!p || p.data.length !== 1) throw new Error(`${where}: no scalar 'p' buffer in the augment pipe`);
  return { p: Number(p.data[0]), probabilities, ranges };
}

/** The network under `key`, or an error that lists what the pickle has. */
export function pklNetwork(pkl: StyleGanPkl, key: string): PklNetwork {
  const net = pkl.networks.get(key);
  if (!net) {
    const present = [...pkl.networks.keys()];
    throw new Error(`${pkl.source}: no ${key} in this pickle (it holds ${present.length ? present.join(', ') : 'no networks'}); pass an official network-snapshot-*.pkl`);
  }
  return net;
}

/** Load a pickle network's tensors into a module, strictly; an error names the keys and the network. */
export function loadPklWeights(m: Module, tensors: Map<string, HostTensor>, where: string): void {
  try {
    loadModuleFromHost(m, tensors);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

function build<M extends Module>(make: () => M, tensors: Map<string, HostTensor>, where: string): M {
  const m = make();
  try {
    loadPklWeights(m, tensors, where);
  } catch (e) {
    m.dispose();
    throw e;
  }
  return m;
}

/** A generator from a snapshot (G_ema by default: the one to sample from), in eval mode. */
export function pklGenerator(pkl: StyleGanPkl, key = 'G_ema'): StyleGAN2Generator {
  const where = `${pkl.source}: ${key}`;
  const net = pklNetwork(pkl, key);
  const config = generatorConfigFromPkl(net, where);
  return build(() => new StyleGAN2Generator(config).eval(), net.tensors, where);
}

/** The snapshot's discriminator, in eval mode. */
export function pklDiscriminator(pkl: StyleGanPkl): Discriminator {
  const where = `${pkl.source}: D`;
  const net = pklNetwork(pkl, 'D');
  const config = discriminatorConfigFromPkl(net, where);
  return build(() => new Discriminator(config).eval(), net.tensors, where);
}

/** `bench/generate.js --checkpoint network-snapshot-*.pkl`: the snapshot's G_ema. */
export function loadPklGenerator(path: string): StyleGAN2Generator {
  return pklGenerator(loadStyleGanPkl(path));
}
