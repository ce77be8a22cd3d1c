// The runtime: the device plus the pieces every kernel launch goes through (pool, pipeline cache,
// queue, profiler). One per process; `await init()` before any tensor work, `shutdown()` at the end.
import { BindGroupCache } from './bind-groups.js';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { initGpu, shutdownGpu, type GpuContext, type InitOptions } from './device.js';
import { GpuErrorWatch } from './gpu-errors.js';
import { PipelineCache } from './pipelines.js';
import { Profiler } from './profiler.js';
import { CommandQueue } from './queue.js';
import { observeDispatches, type DispatchObserver } from './dispatch-log.js';

export interface Runtime {
  ctx: GpuContext;
  device: GPUDevice;
  pool: BufferPool;
  pipelines: PipelineCache;
  queue: CommandQueue;
  bindGroups: BindGroupCache;
  errors: GpuErrorWatch;
  profiler: Profiler | null;
}

let rt: Runtime | null = null;
let profilingRequested = process.env.SRASEG_PROFILE === '1';

/** Turn per-kernel timing on; must be called before init(). */
export function enableProfiling(): void {
  if (rt) throw new Error('enableProfiling() must be called before init()');
  profilingRequested = true;
}

export async function init(options: InitOptions = {}): Promise<Runtime> {
  if (rt) return rt;
  const ctx = await initGpu(options);
  const errors = new GpuErrorWatch();
  errors.attach(ctx.device);
  const pool = new BufferPool(ctx.device, Math.min(ctx.limits.maxBufferSize, ctx.limits.maxStorageBufferBindingSize));
  const profiler = profilingRequested ? new Profiler(ctx.device, ctx.features.timestamps) : null;
  const ring = CommandQueue.createUniformRing(ctx.device);
  const bindGroups = new BindGroupCache(ctx.device, () => ring);
  // A buffer the pool destroys takes its cached bind groups with it.
  pool.onDestroy = (buf) => bindGroups.forgetBuffer(buf);
  rt = {
    ctx,
    device: ctx.device,
    pool,
    pipelines: new PipelineCache(ctx.device, bindGroups, errors),
    queue: new CommandQueue(ctx.device, pool, profiler, errors, bindGroups, ring),
    bindGroups,
    errors,
    profiler,
  };
  return rt;
}

export function runtime(): Runtime {
  if (!rt) throw new Error('The WebGPU runtime is not initialised: call `await init()` first.');
  return rt;
}

export interface MemoryStats extends PoolStats {
  pipelines: number;
  dispatches: number;
  submits: number;
  /** Buffer-to-buffer copies recorded (read-backs, state loads, gradients into an optimiser's arena). */
  copies: number;
  /** Bind groups created, and dispatches that found theirs in the cache. */
  bindGroupsCreated: number;
  bindGroupHits: number;
}

export function memoryStats(): MemoryStats {
  const r = runtime();
  return {
    ...r.pool.getStats(),
    pipelines: r.pipelines.size,
    dispatches: r.queue.dispatches,
    submits: r.queue.submits,
    copies: r.queue.copies,
    bindGroupsCreated: r.bindGroups.created,
    bindGroupHits: r.bindGroups.hits,
  };
}

/**
 * Runs `body` dry: the engine's host code runs (modules, autograd, optimisers, the kernels choosing
 * their variants) and every kernel launch goes to `observe` with its key, geometry and operands, but
 * nothing is compiled, executed, written or read, and new buffers are 256-byte placeholders. Work
 * recorded before is real: it is submitted first. `bufferLimit` lets the pool hand out buffers up to a
 * larger adapter's binding limit meanwhile (a GPU's, modelled on llvmpipe). Used by bench/roofline.js
 * and the tests of full-shape launches.
 */
export async function dryRun(body: () => unknown, observe: DispatchObserver, bufferLimit?: number): Promise<void> {
  const r = runtime();
  flush();
  const previous = observeDispatches(observe);
  const limit = r.pool.maxBufferSize;
  r.queue.dryRun = r.pool.dryRun = true;
  r.pool.maxBufferSize = bufferLimit ?? limit;
  try {
    await body();
    flush();
  } finally {
    r.queue.dryRun = r.pool.dryRun = false;
    r.pool.maxBufferSize = limit;
    observeDispatches(previous);
  }
}

/** Submit everything recorded so far without waiting for it. */
export function flush(): void {
  runtime().queue.flush();
}

export async function sync(): Promise<void> {
  await runtime().queue.sync();
}

/** Submit outstanding work, wait for it, and destroy the device so Node can exit. */
export async function shutdown(): Promise<void> {
  if (!rt) return;
  try {
    await rt.queue.sync();
  } catch {
    /* the device may already be lost */
  }
  rt.queue.destroy();
  rt.pool.trim();
  rt = null;
  shutdownGpu();
}
