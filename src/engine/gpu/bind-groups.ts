// Bind-group layouts declared from the WGSL, and a cache of bind groups keyed by what they bind.
//
// Why: creating a bind group costs ~20 µs of host time in Dawn, once per dispatch, and a training
// step dispatches hundreds of kernels over buffers that repeat from step to step (the pool hands the
// same buffers back in the same order). A bind group binds buffer objects, not tensors, so one made for
// (buffer, offset, size) is exactly the bind group a fresh createBindGroup would make for the same
// triple later — also after the buffer went back to the pool and was handed to another tensor.
//
// - Layouts are explicit (not 'auto'): every kernel's binding 0 is its uniform block, declared with
//   `hasDynamicOffset`, so the uniform ring's per-dispatch offset is given to `setBindGroup` and the
//   uniform buffer never enters the key. Storage bindings are 'read-only-storage' or 'storage' as the
//   WGSL declares them. Kernels with the same binding signature ("U r r w") share one layout object,
//   hence their bind groups: a unary op and a copy over the same two buffers use one.
// - Key: the layout's signature and, per binding, a buffer id, the offset and the size.
// - Invalidation: an entry holds its buffers. Destroyed buffers never come back (a new buffer gets a
//   new id), so a stale entry is never hit; `forgetBuffer` drops the entries of a buffer the pool
//   destroys (trim) so that they do not hold it, and the cache is cleared when it passes MAX_ENTRIES
//   (a training loop's set is stable; an evaluation over many shapes should not grow it forever).

/** What the cache needs of a compiled kernel (pipelines.ts's CompiledKernel; not imported: pipelines.ts imports this file). */
interface KernelLayout {
  key: string;
  layout: GPUBindGroupLayout;
}

export interface Binding {
  buffer: GPUBuffer;
  /** Byte offset (a multiple of minStorageBufferOffsetAlignment) and size; the whole buffer when absent. */
  offset?: number;
  size?: number;
}

/** Bytes of the uniform ring bound per dispatch (its dynamic offset moves in steps of this). */
export const UNIFORM_SLOT = 256;
const MAX_ENTRIES = 8192;

/** A binding's access, from its WGSL declaration. */
type Access = 'uniform' | 'read' | 'read_write';

/**
 * The bindings of group 0 in a kernel's WGSL, in binding order. Throws unless they are 0..n−1 without
 * gaps, 0 is the uniform block and the rest are storage buffers (the contract of kernels/wgsl.ts).
 */
export function parseBindings(code: string, key: string): Access[] {
  const text = code.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const found = new Map<number, Access>();
  const re = /@group\(\s*0\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var\s*<\s*(uniform|storage)\s*(?:,\s*(read_write|read)\s*)?>/g;
  for (const m of text.matchAll(re)) {
    const b = Number(m[1]);
    if (found.has(b)) throw new Error(`kernel '${key}': binding ${b} is declared twice`);
    found.set(b, m[2] === 'uniform' ? 'uniform' : ((m[3] ?? 'read') as Access));
  }
  const out: Access[] = [];
  for (let b = 0; b < found.size; b++) {
    const a = found.get(b);
    if (!a) throw new Error(`kernel '${key}': bindings must be numbered 0..${found.size - 1} without gaps (no binding ${b})`);
    if ((b === 0) !== (a === 'uniform')) throw new Error(`kernel '${key}': binding 0 must be the uniform block and only it`);
    out.push(a);
  }
  if (!out.length) throw new Error(`kernel '${key}': no bindings found in its WGSL`);
  return out;
}

export class BindGroupCache {
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly pipelineLayouts = new Map<GPUBindGroupLayout, GPUPipelineLayout>();
  private readonly signatures = new WeakMap<GPUBindGroupLayout, string>();
  private readonly groups = new Map<string, GPUBindGroup>();
  /** Buffer → the keys of the entries that bind it (for forgetBuffer). */
  private readonly byBuffer = new Map<GPUBuffer, string[]>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  /** Bind groups created and cache hits over the runtime's life. */
  created = 0;
  hits = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly uniformRing: () => GPUBuffer,
  ) {}

  /** The (shared) layout for a kernel's WGSL, and the pipeline layout around it. */
  layoutFor(code: string, key: string): { layout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout } {
    const access = parseBindings(code, key);
    const signature = access.map((a) => (a === 'uniform' ? 'U' : a === 'read' ? 'r' : 'w')).join('');
    let layout = this.layouts.get(signature);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        label: `layout:${signature}`,
        entries: access.map((a, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer:
            a === 'uniform'
              ? { type: 'uniform', hasDynamicOffset: true }
              : { type: a === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      this.layouts.set(signature, layout);
      this.signatures.set(layout, signature);
      this.pipelineLayouts.set(layout, this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: `pipeline-layout:${signature}` }));
    }
    return { layout, pipelineLayout: this.pipelineLayouts.get(layout)! };
  }

  private id(buf: GPUBuffer): number {
    let id = this.ids.get(buf);
    if (id === undefined) this.ids.set(buf, (id = this.nextId++));
    return id;
  }

  /**
   * The bind group of `kernel` over `buffers` (bindings 1..), the uniform ring at binding 0. `valid`
   * is asked right after a bind group is created (Dawn reports a refused one synchronously): an
   * invalid one is returned uncached, so that a later dispatch over the same buffers cannot hit it.
   */
  get(kernel: KernelLayout, buffers: readonly Binding[], valid: () => boolean = () => true): GPUBindGroup {
    const signature = this.signatures.get(kernel.layout)!;
    if (buffers.length !== signature.length - 1) {
      throw new Error(`kernel '${kernel.key}': ${buffers.length} buffers bound, its WGSL declares ${signature.length - 1}`);
    }
    let key = signature;
    for (const b of buffers) key += `|${this.id(b.buffer)}:${b.offset ?? 0}:${b.size ?? '*'}`;
    const hit = this.groups.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    if (this.groups.size >= MAX_ENTRIES) this.clear();
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniformRing(), offset: 0, size: UNIFORM_SLOT } }];
    buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } }));
    const group = this.device.createBindGroup({ layout: kernel.layout, entries, label: kernel.key });
    this.created++;
    if (!valid()) return group;
    this.groups.set(key, group);
    for (const b of buffers) {
      let keys = this.byBuffer.get(b.buffer);
      if (!keys) this.byBuffer.set(b.buffer, (keys = []));
      keys.push(key);
    }
    return group;
  }

  /** Drop every entry that binds `buf` (called before the buffer is destroyed). */
  forgetBuffer(buf: GPUBuffer): void {
    const keys = this.byBuffer.get(buf);
    if (!keys) return;
    for (const k of keys) this.groups.delete(k);
    this.byBuffer.delete(buf);
  }

  get size(): number {
    return this.groups.size;
  }

  clear(): void {
    this.groups.clear();
    this.byBuffer.clear();
  }
}
