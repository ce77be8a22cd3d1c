// SRA-Seg / BCP building blocks: pseudo-labels, copy-paste masks, the EMA teacher, BCP's mixed loss.
// (The fused blend, soft segmentation and SA-loss kernels live in kernels/.)
export * from './components.js';
export * from './pseudo-labels.js';
export * from './mixing.js';
export * from './teacher.js';
export * from './bcp-loss.js';
export * from './sa.js';
export * from './steps.js';
