// Public API of the engine.
export { init, shutdown, runtime, memoryStats, sync, enableProfiling, type Runtime, type MemoryStats } from './gpu/runtime.js';
export { formatTimings } from './gpu/profiler.js';
export { Tensor, Storage, empty, tensor, zeros, type DType } from './tensor/tensor.js';
export { tidy, keep, scopeDepth } from './tensor/scope.js';
export { ShapeError, numel, fmtShape, broadcastShapes, type Shape } from './tensor/shape.js';
export { backward, grad, noGrad, isGradEnabled, record, type BackwardOptions } from './autograd/node.js';
export * from '../kernels/index.js';
