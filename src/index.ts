// Public API of the engine.
export { init, shutdown, runtime, memoryStats, sync, enableProfiling, type Runtime, type MemoryStats } from './gpu/runtime.js';
export { formatTimings } from './gpu/profiler.js';
export { Tensor, Storage, empty, tensor, zeros, type DType } from './tensor/tensor.js';
export { tidy, keep, scopeDepth } from './tensor/scope.js';
export { ShapeError, numel, fmtShape, broadcastShapes, type Shape } from './tensor/shape.js';
export { backward, grad, noGrad, isGradEnabled, record, type BackwardOptions } from './autograd/node.js';
export * from '../kernels/index.js';
export * from './nn/index.js';
export * from './metrics/index.js';
export * from './report/index.js';
export * from './nn/layers.js';
export { UNet, UNET_DEFAULTS, type UNetConfig, type UNetOutput } from './models/unet.js';
export * from './nn/checkpoint.js';
export * from './io/safetensors.js';
export * from './losses/segmentation.js';
