// Public API of the nn room: modules, containers, initialisers (as the `nnInit` namespace, since
// names like `uniform` and `normal` belong to tensor ops elsewhere), optimisers, mean-teacher EMA.
export { Module, type StateDict, type LoadResult } from './module.js';
export { ModuleList, Sequential, Lambda, type Layer } from './containers.js';
export * as nnInit from './init.js';
export { Optimizer, SGD, Adam, type SGDOptions, type AdamOptions, type OptimizerStateDict, type StepHooks } from './optim.js';
export { updateEmaModel } from './ema.js';
