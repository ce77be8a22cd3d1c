// Training that starts from an official StyleGAN2-ADA snapshot (`train-stylegan.js --resume-from-pkl`):
// the snapshot fixes the networks' configuration and supplies G, D, G_ema and ADA's p. As in the
// official `--resume`, only the networks carry over (not the optimiser state or the image count).
import { UserError } from '../errors.js';
import type { HostTensor } from '../engine/index.js';
import { loadStyleGanPkl, type StyleGanPkl } from '../io/stylegan-pkl.js';
import type { DiscriminatorConfig } from '../models/stylegan2/discriminator.js';
import type { GeneratorConfig } from '../models/stylegan2/generator.js';
import { augmentFromPkl, discriminatorConfigFromPkl, generatorConfigFromPkl, pklNetwork, UnsupportedPklConfigError, type PklAugment } from './pkl.js';

/** The fields of a training config (StyleGanTrainConfig) that a snapshot fixes. */
export interface PklNetworkFields {
  zDim: number;
  wDim: number;
  mappingLayers: number;
  channelBase: number;
  channelMax: number;
  convClamp: number | null;
  mbstdGroupSize: number;
  mbstdChannels: number;
  mappingLrMultiplier: number;
  wAvgBeta: number;
}

/** What the trainer starts from instead of a fresh initialisation. */
export interface StyleGanStart {
  source: string;
  resolution: number;
  networks: PklNetworkFields;
  G: Map<string, HostTensor>;
  D: Map<string, HostTensor>;
  G_ema: Map<string, HostTensor>;
  /** The snapshot's augment pipe (null when it trained without augmentation). */
  augment: PklAugment | null;
}

/** The command-line flags that set what a snapshot fixes, by flag name (undefined: not given). */
export type PklFlagValues = Partial<Record<'resolution' | 'z-dim' | 'w-dim' | 'mapping-layers' | 'channel-base' | 'channel-max', number>>;

const sameShape = (G: GeneratorConfig, D: DiscriminatorConfig) =>
  G.imgResolution === D.imgResolution && G.imgChannels === D.imgChannels && G.channelBase === D.channelBase && G.channelMax === D.channelMax && G.convClamp === D.convClamp;

/** Read a snapshot for training: its configuration (checked against the flags given) and weights. */
export function trainingStartFromPkl(path: string, given: PklFlagValues = {}): StyleGanStart {
  return trainingStart(loadStyleGanPkl(path), given);
}

export function trainingStart(pkl: StyleGanPkl, given: PklFlagValues = {}): StyleGanStart {
  const src = pkl.source;
  const [Gnet, Dnet, Enet] = (['G', 'D', 'G_ema'] as const).map((k) => pklNetwork(pkl, k));
  const G = generatorConfigFromPkl(Gnet, `${src}: G`);
  const G_ema = generatorConfigFromPkl(Enet, `${src}: G_ema`);
  const D = discriminatorConfigFromPkl(Dnet, `${src}: D`);
  if (JSON.stringify(G) !== JSON.stringify(G_ema)) throw new UnsupportedPklConfigError(`${src}: unsupported configuration: G and G_ema are configured differently`);
  if (!sameShape(G, D)) {
    throw new UnsupportedPklConfigError(`${src}: unsupported configuration: D's resolution, channels, channel_base/max or conv_clamp differ from G's (the trainer shares them)`);
  }
  if (G.imgChannels !== 1) throw new UnsupportedPklConfigError(`${src}: unsupported configuration: img_channels ${G.imgChannels} (the trainer trains on one-channel slices)`);
  const networks: PklNetworkFields = {
    zDim: G.zDim,
    wDim: G.wDim,
    mappingLayers: G.mappingLayers,
    channelBase: G.channelBase,
    channelMax: G.channelMax,
    convClamp: G.convClamp,
    mbstdGroupSize: D.mbstdGroupSize,
    mbstdChannels: D.mbstdChannels,
    mappingLrMultiplier: G.mappingLrMultiplier ?? 0.01,
    wAvgBeta: G.wAvgBeta ?? 0.995,
  };
  const fixed: Record<keyof PklFlagValues, [number, string]> = {
    resolution: [G.imgResolution, 'img_resolution'],
    'z-dim': [G.zDim, 'z_dim'],
    'w-dim': [G.wDim, 'w_dim'],
    'mapping-layers': [G.mappingLayers, 'mapping_kwargs.num_layers'],
    'channel-base': [G.channelBase, 'channel_base'],
    'channel-max': [G.channelMax, 'channel_max'],
  };
  const clashes = (Object.keys(fixed) as (keyof PklFlagValues)[])
    .filter((flag) => given[flag] !== undefined && given[flag] !== fixed[flag][0])
    .map((flag) => `--${flag} ${given[flag]} contradicts its ${fixed[flag][1]} ${fixed[flag][0]}`);
  if (clashes.length) throw new UserError(`${src}: ${clashes.join('; ')} (the snapshot fixes the networks: drop these flags)`);
  const augmentNet = pkl.networks.get('augment_pipe');
  return {
    source: src,
    resolution: G.imgResolution,
    networks,
    G: Gnet.tensors,
    D: Dnet.tensors,
    G_ema: Enet.tensors,
    augment: augmentNet ? augmentFromPkl(augmentNet, `${src}: augment_pipe`) : null,
  };
}
