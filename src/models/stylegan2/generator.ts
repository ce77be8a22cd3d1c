// StyleGAN2-ADA's generator (published name `Generator`; renamed here because the engine already exports
// the random-number `Generator`): the mapping network (z → ws) and the synthesis network (ws → img) as
// the children `mapping` and `synthesis`, so state-dict names are the published `mapping.fc0.weight`,
// `synthesis.b8.conv0.weight`, … Call them separately for style mixing or projection.
import { Module, type Tensor, tidy } from '../../engine/index.js';
import { MappingNetwork, type MappingOptions } from './mapping.js';
import { SynthesisNetwork, type SynthesisOptions } from './synthesis.js';

export interface GeneratorConfig {
  zDim: number;
  wDim: number;
  imgResolution: number;
  imgChannels: number;
  /** Published default 8 (2 in the small configurations). */
  mappingLayers: number;
  /** Channels at resolution r: min(⌊channelBase / r⌋, channelMax). Published: 32768 and 512. */
  channelBase: number;
  channelMax: number;
  /** Clamp of every conv's output (published training configs: 256); null: none. */
  convClamp: number | null;
  /** Seeds the weight initialisation (mapping and synthesis draw from separate streams). */
  seed: number;
  /** Learning-rate multiplier of the mapping layers (default 0.01). */
  mappingLrMultiplier?: number;
  /** Decay of the tracked average w (default 0.995). */
  wAvgBeta?: number;
}

export type GeneratorOptions = MappingOptions & SynthesisOptions;

export class StyleGAN2Generator extends Module {
  readonly synthesis: SynthesisNetwork;
  readonly mapping: MappingNetwork;

  constructor(readonly config: GeneratorConfig) {
    super();
    const { zDim, wDim, imgResolution, imgChannels, channelBase, channelMax, convClamp, seed } = config;
    this.synthesis = this.registerModule('synthesis', new SynthesisNetwork({ wDim, imgResolution, imgChannels, channelBase, channelMax, convClamp, seed }));
    this.mapping = this.registerModule(
      'mapping',
      new MappingNetwork({
        zDim,
        wDim,
        numWs: this.synthesis.numWs,
        numLayers: config.mappingLayers,
        lrMultiplier: config.mappingLrMultiplier,
        wAvgBeta: config.wAvgBeta,
        seed: seed + 1,
      }),
    );
  }

  get numWs(): number {
    return this.synthesis.numWs;
  }

  /** z [N, zDim] → img [N, imgChannels, R, R]. */
  forward(z: Tensor, opts: GeneratorOptions = {}): Tensor {
    // A scope of its own: safe to call anywhere, only the outputs (and their graph) leave it.
    return tidy(() => {
      const ws = this.mapping.forward(z, opts);
      return this.synthesis.forward(ws, opts);
    });
  }
}
