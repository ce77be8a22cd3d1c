// The machinery for declaring and launching kernels, exported by the engine as one namespace
// (`kernelApi`): for kernels outside this folder and for the tests of the machinery itself. How to
// use it: docs/ADDING-A-KERNEL.md.
export { uniforms, MAX_RANK, type FieldLayout, type UniformFields, type Uniforms, type UniformType, type UniformValues } from './uniforms.js';
export { grid1d, kernel, out, run, sections, type Kernel, type ShaderSource } from './common.js';
export { assemble, declarations, fillSlots, wgslLiteral, type ShaderParts, type WgslConst } from './wgsl.js';
export { checkLoops, LOOP_BUDGET, loopCapApplies, maxLoopTrips, setLoopCap, workgroupForLoops } from './loop-budget.js';
export { f16Staging, f16StagingFromEnv, gpuKernels, gpuKernelsFromEnv, setF16Staging, setGpuKernels, GPU_TARGET_WORKGROUPS } from './variant.js';
