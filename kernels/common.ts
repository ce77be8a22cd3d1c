// Shared pieces of kernel modules: the kernel declaration (cache key + declared uniforms + WGSL),
// launching, dispatch geometry, output allocation.
import { runtime } from '../src/engine/gpu/runtime.js';
import { dispatchObserver } from '../src/engine/gpu/dispatch-log.js';
import type { KernelSpec } from '../src/engine/gpu/pipelines.js';
import type { Binding } from '../src/engine/gpu/queue.js';
import { BYTES_PER_ELEMENT, empty, Tensor, type DType } from '../src/engine/tensor/tensor.js';
import type { Shape } from '../src/engine/tensor/shape.js';
import type { UniformFields, UniformValues, Uniforms } from './uniforms.js';
import { assemble, type ShaderParts } from './wgsl.js';

/** What a kernel's WGSL is made of, besides its uniforms and workgroup size (see kernels/wgsl.ts). */
export interface ShaderSource extends Omit<ShaderParts, 'wg'> {
  /** The kernel's WGSL: usually one section of a shaders/*.wgsl file. */
  body: string;
}

/** A kernel ready to launch: the pipeline cache's spec, plus the uniforms its WGSL declares. */
export interface Kernel<F extends UniformFields> extends KernelSpec {
  readonly params: Uniforms<F>;
  /** Workgroup size, as compiled into the WGSL (`WG`). */
  readonly wg: number;
}

/**
 * Declare a kernel: `key` must encode every input of `source` (it is the pipeline cache's key);
 * `params` generates both the WGSL struct of the uniforms and, in `run`, their packer; `wg` is the
 * workgroup size, compiled in as `WG`. `source` runs once per key, when the pipeline is built.
 */
export function kernel<F extends UniformFields>(key: string, params: Uniforms<F>, wg: number, source: () => ShaderSource): Kernel<F> {
  return {
    key,
    params,
    wg,
    source: () => {
      const { body, ...parts } = source();
      return assemble(body, params, { ...parts, wg });
    },
  };
}

/**
 * Record one dispatch of kernel `k` over tensors (bound in order after the uniforms at binding 0),
 * its uniforms packed from `values` — exactly the fields `k.params` declares.
 */
export function run<F extends UniformFields>(
  k: Kernel<F>,
  tensors: (Tensor | Binding)[],
  values: NoInfer<UniformValues<F>>,
  grid: [number, number, number],
  op = k.key,
): void {
  const bindings = tensors.map((t) => (t instanceof Tensor ? t.binding(op) : t));
  const r = runtime();
  const watch = dispatchObserver();
  if (watch) {
    // A buffer range bound twice (e.g. `bias ?? x` when there is no bias) is counted once.
    const seen = new Map<GPUBuffer, Set<number>>();
    const bindingBytes = tensors.map((t, i) => {
      const b = bindings[i];
      const bytes = t instanceof Tensor ? t.size * BYTES_PER_ELEMENT : (b.size ?? b.buffer.size - (b.offset ?? 0));
      const offsets = seen.get(b.buffer) ?? new Set<number>();
      seen.set(b.buffer, offsets);
      if (offsets.has(b.offset ?? 0)) return 0;
      offsets.add(b.offset ?? 0);
      return bytes;
    });
    const shapes = tensors.map((t) => (t instanceof Tensor ? t.shape : null));
    watch({ key: k.key, op, wg: k.wg, grid, bindingBytes, shapes, values: values as Record<string, unknown> });
  }
  if (r.queue.dryRun) {
    r.queue.dispatches++;
    return;
  }
  r.queue.dispatch(r.pipelines.get(k), bindings, k.params.pack(values), grid, op);
}

/**
 * A 1-D launch over `count` work items in workgroups of `wgSize`, folded into y when more than
 * 65,535 workgroups are needed. Shaders recover the item index with the prelude's `globalIndex`
 * (or the workgroup's with `workgroupIndex`, for one workgroup per item: wgSize = 1).
 */
export function grid1d(count: number, wgSize: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / wgSize));
  const maxX = runtime().ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxX) return [groups, 1, 1];
  const x = Math.min(maxX, 32768);
  return [x, Math.ceil(groups / x), 1];
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
