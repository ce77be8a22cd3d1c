// Compute-pipeline cache.
//
// Each kernel declares, in one place (its KernelSpec), the key of everything that changes its WGSL;
// all else travels in uniforms. SRASEG_PRINT_WGSL=<substring> prints the source of every kernel whose
// key contains it when it is first compiled ('*' prints all). Layouts are explicit, read from the
// WGSL's binding declarations (bind-groups.ts): the uniform block at binding 0 takes a dynamic offset.
import type { BindGroupCache } from './bind-groups.js';
import type { GpuErrorWatch } from './gpu-errors.js';

export interface KernelSpec {
  /** Cache key: every input of `source()` must be encoded in it. */
  key: string;
  /** The WGSL, generated once per key. Entry point `main`. */
  source: () => string;
}

export interface CompiledKernel {
  key: string;
  /** Kernel family (the key up to the first ':'), used for timing tables. */
  family: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class PipelineCache {
  private cache = new Map<string, CompiledKernel>();
  private readonly printFilter = process.env.SRASEG_PRINT_WGSL;
  compiled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly bindGroups: BindGroupCache,
    private readonly errors: GpuErrorWatch,
  ) {}

  get(spec: KernelSpec): CompiledKernel {
    const hit = this.cache.get(spec.key);
    if (hit) return hit;
    const code = spec.source();
    if (this.printFilter && (this.printFilter === '*' || spec.key.includes(this.printFilter))) {
      console.error(`\n// ===== WGSL for kernel '${spec.key}' =====\n${code}\n`);
    }
    // Dawn reports a compile error synchronously, to the error watch: print the numbered source and
    // throw it here, naming the kernel, rather than fail later on an invalid pipeline.
    this.errors.check();
    const previous = this.errors.lastKernel;
    this.errors.lastKernel = `${spec.key} (compiling)`;
    let layout: GPUBindGroupLayout;
    let pipeline: GPUComputePipeline;
    try {
      const layouts = this.bindGroups.layoutFor(code, spec.key);
      layout = layouts.layout;
      const module = this.device.createShaderModule({ code, label: spec.key });
      pipeline = this.device.createComputePipeline({ layout: layouts.pipelineLayout, compute: { module, entryPoint: 'main' }, label: spec.key });
      if (this.errors.hasPending()) {
        const numbered = code
          .split('\n')
          .map((l, i) => `${String(i + 1).padStart(4)}  ${l}`)
          .join('\n');
        console.error(`[webgpu] kernel '${spec.key}' failed to compile; its WGSL:\n${numbered}`);
        this.errors.check();
      }
    } finally {
      this.errors.lastKernel = previous;
    }
    const entry: CompiledKernel = { key: spec.key, family: spec.key.split(':')[0], pipeline, layout };
    this.cache.set(spec.key, entry);
    this.compiled++;
    return entry;
  }

  get size(): number {
    return this.cache.size;
  }
}
