// Every kernel family's public ops.
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape-ops.js';
export * from './optim.js';
export * from './softmax.js';
export * from './matmul.js';
export * from './random.js';
export * from './loss.js';
export * from './conv2d.js';
export * from './pool.js';
export * from './resize.js';
export * from './norm.js';
export * from './blend.js';
export * from './seg-loss.js';
export * from './sa-loss.js';
export * from './attention.js';
