// StyleGAN2-ADA (NVlabs/stylegan2-ada-pytorch, training/networks.py) as modules of this engine.
export { FullyConnectedLayer, Conv2dLayer, normalize2ndMoment, type FullyConnectedOptions, type EqualizedConv2dOptions, type StyleGanShape } from './layers.js';
export { MappingNetwork, type MappingConfig, type MappingOptions } from './mapping.js';
export {
  SynthesisNetwork,
  SynthesisBlock,
  SynthesisLayer,
  ToRGBLayer,
  stylegan2Channels,
  type SynthesisConfig,
  type SynthesisOptions,
  type NoiseMode,
} from './synthesis.js';
export { Discriminator, DiscriminatorBlock, DiscriminatorEpilogue, MinibatchStdLayer, type DiscriminatorConfig } from './discriminator.js';
export { StyleGAN2Generator, type GeneratorConfig, type GeneratorOptions } from './generator.js';
