// The engine's public API: the WebGPU runtime, tensors and their ownership scopes, autograd, every
// kernel family's ops (kernels/), and nn (modules, layers, initialisers, optimisers, weights files).
// The application (src/ outside engine/) imports the engine through this file only; nothing in the
// engine imports the application (test/architecture.test.ts enforces both).
export { init, shutdown, runtime, memoryStats, sync, flush, dryRun, enableProfiling, type Runtime, type MemoryStats } from './gpu/runtime.js';
export { formatTimings } from './gpu/profiler.js';
export { softwareRefusal, DAWN_FLAGS } from './gpu/device.js';
export { GpuError } from './gpu/gpu-errors.js';
export { observeDispatches, type DispatchRecord, type DispatchObserver } from './gpu/dispatch-log.js';
export { Tensor, Storage, empty, tensor, zeros, type DType } from './tensor/tensor.js';
export { tidy, keep, scopeDepth, setStrictOwnership, isStrictOwnership, OwnershipError } from './tensor/scope.js';
export { ShapeError, numel, fmtShape, broadcastShapes, coalesceDims, type Shape } from './tensor/shape.js';
export { noGrad, isGradEnabled, inBackward, record, type BackwardFn } from './autograd/graph.js';
export { backward, grad, type BackwardOptions } from './autograd/backward.js';
export * from '../../kernels/index.js';
export * from './nn/index.js';
export * from './nn/layers.js';
export * from './nn/checkpoint.js';
export * from './io/safetensors.js';
export { BufferLimitError, formatMiB, InputError, StateDictMismatch, type ShapeMismatch } from './errors.js';
