// Shared pieces of kernel modules: uniform packing, dispatch geometry, WGSL helpers.
import { runtime } from '../src/engine/gpu/runtime.js';
import type { KernelSpec } from '../src/engine/gpu/pipelines.js';
import type { Binding } from '../src/engine/gpu/queue.js';
import { empty, Tensor, type DType } from '../src/engine/tensor/tensor.js';
import type { Shape } from '../src/engine/tensor/shape.js';

export const MAX_RANK = 8;

/**
 * Packs uniforms in WGSL's layout: scalars at 4-byte alignment, `vec8` fields (two vec4<u32>, for
 * shapes and strides up to rank 8) at 16. The WGSL struct must declare fields in the same order.
 */
export class Params {
  private words: number[] = [];
  private kinds: ('u' | 'i' | 'f')[] = [];

  private push(kind: 'u' | 'i' | 'f', v: number): this {
    this.words.push(v);
    this.kinds.push(kind);
    return this;
  }

  u32(...vs: number[]): this {
    for (const v of vs) this.push('u', v >>> 0);
    return this;
  }

  i32(...vs: number[]): this {
    for (const v of vs) this.push('i', v | 0);
    return this;
  }

  f32(...vs: number[]): this {
    for (const v of vs) this.push('f', v);
    return this;
  }

  /** Up to 8 u32 values as `array<vec4<u32>, 2>`, 16-byte aligned; unused slots hold `fill`. */
  vec8(values: readonly number[], fill = 0): this {
    if (values.length > MAX_RANK) throw new Error(`Params.vec8: rank ${values.length} exceeds ${MAX_RANK}`);
    while (this.words.length % 4) this.push('u', 0);
    for (let i = 0; i < MAX_RANK; i++) this.push('u', i < values.length ? values[i] : fill);
    return this;
  }

  build(): ArrayBuffer {
    while (this.words.length % 4) this.push('u', 0);
    const buf = new ArrayBuffer(this.words.length * 4);
    const u = new Uint32Array(buf);
    const i = new Int32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      if (this.kinds[k] === 'f') f[k] = w;
      else if (this.kinds[k] === 'i') i[k] = w;
      else u[k] = w;
    });
    return buf;
  }
}

/**
 * A 1-D launch over `count` work items in workgroups of `wgSize`, folded into y when more than
 * 65,535 workgroups are needed. Shaders recover the item index with WGSL_GLOBAL_INDEX.
 */
export function grid1d(count: number, wgSize: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / wgSize));
  const maxX = runtime().ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxX) return [groups, 1, 1];
  const x = Math.min(maxX, 32768);
  return [x, Math.ceil(groups / x), 1];
}

/** Substitute `{{NAME}}` placeholders in a shader template; throws on any left unfilled. */
export function fill(template: string, values: Record<string, string | number>): string {
  const out = template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`shader template: no value for {{${k}}}`);
    return String(values[k]);
  });
  return out;
}

/** Record one dispatch of `spec` over tensors (bindings in order after the uniforms). */
export function run(spec: KernelSpec, tensors: (Tensor | Binding)[], params: Params | null, grid: [number, number, number], op = spec.key): void {
  const bindings = tensors.map((t) => (t instanceof Tensor ? { buffer: t.buffer(op) } : t));
  const r = runtime();
  r.queue.dispatch(r.pipelines.get(spec), bindings, params ? params.build() : null, grid);
}

export function out(shape: Shape, dtype: DType = 'f32', label = 'out'): Tensor {
  return empty(shape, dtype, label);
}

/** Check a tensor's dtype, naming the op. */
export function expectDtype(op: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new Error(`${op}: expected a ${allowed.join(' or ')} tensor, got ${t.dtype} of shape [${t.shape.join(', ')}]`);
  }
}

/**
 * A shader file may hold several kernels, each after a line `//!! name`; text before the first
 * marker is shared by all of them (helper functions).
 */
export function sections(source: string): Record<string, string> {
  const parts = source.split(/^\/\/!! *(\w+) *$/m);
  const shared = parts[0];
  const out: Record<string, string> = {};
  for (let i = 1; i < parts.length; i += 2) out[parts[i]] = shared + parts[i + 1];
  return out;
}
