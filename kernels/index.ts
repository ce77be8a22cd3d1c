// Every kernel family's public ops.
export * from './elementwise.js';
export * from './reduce.js';
export * from './reduce-stats.js';
export * from './shape-ops.js';
export * from './optim.js';
export * from './softmax.js';
export * from './matmul.js';
export * from './random.js';
export * from './cross-entropy.js';
export * from './conv2d.js';
export * from './pool.js';
export * from './resize.js';
export * from './norm.js';
export * from './blend.js';
export * from './seg-loss.js';
export * from './sa-loss.js';
export * from './attention.js';
export * from './upfirdn2d.js';
export * from './grid-sample.js';
export * from './reflect-pad.js';
export * from './bias-act.js';
export * from './modulated-conv.js';
export * from './finite.js';
// Declaring kernels: declared uniforms, shader assembly, launching, the loop rule.
export * as kernelApi from './api.js';
