// StyleGAN2-ADA pieces: the augmentation pipeline, its matrices and its p controller.
export * from './ada-matrices.js';
export * from './ada.js';
export * from './ada-controller.js';
export * from './loss.js';
export * from './reals.js';
export * from './train.js';
export * from './phases.js';
export * from './checkpoint.js';
export * from './measure.js';
export * from './generate.js';
export * from './pkl.js';
export * from './pkl-start.js';
