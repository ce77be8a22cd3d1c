// The library as one bundle (dist/index.js, what tests and bench/ import): the engine
// (src/engine/index.ts: runtime, tensors, autograd, kernels, nn) and, on it, the application —
// models, data, the SRA-Seg method, StyleGAN2-ADA, metrics, reports, training and evaluation.
// The command-line layer (src/cli/) is not part of it: the commands are clients of this API.
export * from './engine/index.js';
export * from './metrics/index.js';
export * from './report/index.js';
export { UNet, UNET_DEFAULTS, type UNetConfig, type UNetOutput } from './models/unet.js';
export * from './train/supervised-loss.js';
export * from './train/index.js';
export * from './report/progress.js';
export * from './data/index.js';
export * from './sraseg/index.js';
export * from './models/vit.js';
export * from './models/vit-weights.js';
export * from './models/weights.js';
export * from './models/pos-embed.js';
export * from './io/pth.js';
export * from './io/stylegan-pkl.js';
export * from './io/state-dict.js';
export * from './io/nifti-write.js';
export { readNiftiHeader, type NiftiHeaderBytes } from './io/nifti.js';
export { writeHdf5Datasets, type Hdf5Dataset } from './io/hdf5.js';
export * from './models/unet-weights.js';
export * from './gan/index.js';
export * from './models/stylegan2/index.js';
export * from './errors.js';
