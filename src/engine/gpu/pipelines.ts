// Compute-pipeline cache.
//
// Each kernel declares, in one place (its KernelSpec), the key of everything that changes its WGSL;
// all else travels in uniforms. SRASEG_PRINT_WGSL=<substring> prints the source of every kernel whose
// key contains it when it is first compiled ('*' prints all).

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

  constructor(private readonly device: GPUDevice) {}

  get(spec: KernelSpec): CompiledKernel {
    const hit = this.cache.get(spec.key);
    if (hit) return hit;
    const code = spec.source();
    if (this.printFilter && (this.printFilter === '*' || spec.key.includes(this.printFilter))) {
      console.error(`\n// ===== WGSL for kernel '${spec.key}' =====\n${code}\n`);
    }
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: spec.key });
    const pipeline = this.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: spec.key,
    });
    // Compilation errors surface asynchronously; report them with the key and numbered source.
    void this.device.popErrorScope().then((err) => {
      if (err) {
        const numbered = code
          .split('\n')
          .map((l, i) => `${String(i + 1).padStart(4)}  ${l}`)
          .join('\n');
        console.error(`[webgpu] kernel '${spec.key}' failed to compile: ${err.message}\n${numbered}`);
      }
    });
    const entry: CompiledKernel = {
      key: spec.key,
      family: spec.key.split(':')[0],
      pipeline,
      layout: pipeline.getBindGroupLayout(0),
    };
    this.cache.set(spec.key, entry);
    this.compiled++;
    return entry;
  }

  get size(): number {
    return this.cache.size;
  }
}
