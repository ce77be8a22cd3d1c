// Every kernel family's public ops.
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape-ops.js';
