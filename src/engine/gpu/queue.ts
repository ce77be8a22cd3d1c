// The command queue: one open encoder and compute pass, flushed every N dispatches and before any
// readback. Uniforms for all dispatches of a batch live in one ring buffer, written once per flush
// and bound with a dynamic offset, so no dispatch creates a buffer of its own, and bind groups are
// cached by the buffers they bind (bind-groups.ts): a training step that repeats creates none.
// Every entry point first throws a pending WebGPU error or device loss (gpu-errors.ts).
import { type Binding, type BindGroupCache, UNIFORM_SLOT } from './bind-groups.js';
import type { BufferPool } from './buffer-pool.js';
import type { GpuErrorWatch } from './gpu-errors.js';
import type { CompiledKernel } from './pipelines.js';
import type { Profiler } from './profiler.js';

export type { Binding } from './bind-groups.js';

const UNIFORM_RING_BYTES = 256 * 1024;

export class CommandQueue {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** The pipeline set last in the open pass (setPipeline is skipped when it repeats). */
  private passPipeline: GPUComputePipeline | null = null;
  private pendingDispatches = 0;
  private uniformRing: GPUBuffer;
  private uniformCpu = new ArrayBuffer(UNIFORM_RING_BYTES);
  private uniformBytes = new Uint8Array(this.uniformCpu);
  private uniformUsed = 0;
  private readonly dynamicOffset = new Uint32Array(1);
  private stagingFree: GPUBuffer[] = [];
  readonly flushEvery: number;
  dispatches = 0;
  submits = 0;
  copies = 0;
  /**
   * Dry run (bench/roofline.js counts a step at full size without running it): launches are counted
   * (and seen by the dispatch observer, kernels/common.ts) but nothing is compiled, recorded, written
   * or read; tensors still get pool buffers, which are created but never touched.
   */
  dryRun = false;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    private readonly profiler: Profiler | null,
    readonly errors: GpuErrorWatch,
    readonly bindGroups: BindGroupCache,
    uniformRing: GPUBuffer,
  ) {
    this.flushEvery = Math.max(1, Number(process.env.SRASEG_FLUSH_EVERY ?? 32));
    this.uniformRing = uniformRing;
  }

  /** The ring all uniform blocks are bound from (bind-groups.ts binds it at offset 0, 256 bytes). */
  static createUniformRing(device: GPUDevice): GPUBuffer {
    return device.createBuffer({ size: UNIFORM_RING_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniform-ring' });
  }

  private ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.ensureEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
      this.passPipeline = null;
    }
  }

  /**
   * Record one dispatch. `uniforms` (≤ 256 bytes) is bound at binding 0 through the ring's dynamic
   * offset, then `buffers` at bindings 1.. in order. `op` names the caller in error messages.
   */
  dispatch(kernel: CompiledKernel, buffers: Binding[], uniforms: ArrayBuffer, grid: [number, number, number], op?: string): void {
    this.errors.check();
    if (this.dryRun) throw new Error(`${kernel.key}: a dispatch reached the queue during a dry run (kernels/common.ts run counts them instead)`);
    if (uniforms.byteLength > UNIFORM_SLOT) throw new Error(`${kernel.key}: uniforms exceed ${UNIFORM_SLOT} bytes`);
    if (this.uniformUsed + UNIFORM_SLOT > UNIFORM_RING_BYTES) this.flush();
    this.errors.lastKernel = kernel.key;
    this.errors.lastOp = op ?? null;
    this.errors.batch.push(kernel.key);
    const offset = this.uniformUsed;
    this.uniformBytes.set(new Uint8Array(uniforms), offset);
    this.uniformUsed += UNIFORM_SLOT;
    const bindGroup = this.bindGroups.get(kernel, buffers, () => !this.errors.hasPending());
    // A refused bind group is reported inside createBindGroup: throw before recording it, so the
    // open encoder stays valid and the work recorded before this dispatch still runs.
    if (this.errors.hasPending()) {
      this.uniformUsed -= UNIFORM_SLOT;
      this.errors.batch.pop();
      this.errors.check();
    }
    this.dynamicOffset[0] = offset;
    if (this.profiler?.usesTimestamps) {
      this.endPass();
      const pass = this.ensureEncoder().beginComputePass({ timestampWrites: this.profiler.timestampWrites(kernel.family) });
      pass.setPipeline(kernel.pipeline);
      pass.setBindGroup(0, bindGroup, this.dynamicOffset, 0, 1);
      pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
      pass.end();
    } else {
      const pass = this.ensurePass();
      if (this.passPipeline !== kernel.pipeline) {
        pass.setPipeline(kernel.pipeline);
        this.passPipeline = kernel.pipeline;
      }
      pass.setBindGroup(0, bindGroup, this.dynamicOffset, 0, 1);
      pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    }
    this.dispatches++;
    this.pendingDispatches++;
    if (this.profiler && !this.profiler.usesTimestamps) this.profiler.count(kernel.family);
    if (this.pendingDispatches >= this.flushEvery || (this.profiler?.full ?? false)) {
      this.flush();
    }
  }

  /**
   * Copy between buffers (ends the compute pass; the next dispatch opens a new one). WebGPU refuses a
   * copy within one buffer; ranges of one buffer (tensors in an arena) go through a temporary.
   */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.errors.check();
    if (bytes === 0 || this.dryRun) return;
    if (src === dst) {
      if (srcOffset === dstOffset) return;
      const tmp = this.pool.acquire(bytes, 'copy:temporary');
      this.copy(src, srcOffset, tmp, 0, bytes);
      this.copy(tmp, 0, dst, dstOffset, bytes);
      this.pool.release(tmp);
      return;
    }
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.copies++;
    this.pendingDispatches++;
  }

  /** Fill a buffer region with zeros via the encoder (ordered with the dispatches around it). */
  clear(buf: GPUBuffer, offset: number, bytes: number): void {
    this.errors.check();
    if (this.dryRun) return;
    this.endPass();
    this.ensureEncoder().clearBuffer(buf, offset, bytes);
    this.pendingDispatches++;
  }

  /**
   * Upload data. Goes through the encoder's order: writeBuffer runs at submit time *before* the open
   * encoder's commands, so we flush first — a buffer being uploaded is always a fresh one from the pool,
   * but its previous owner's commands may still be pending.
   */
  write(buf: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.errors.check();
    if (this.dryRun) return;
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
    this.errors.check();
  }

  /** Submit everything recorded so far. */
  flush(): void {
    this.errors.check();
    this.endPass();
    if (!this.encoder) {
      // Nothing recorded since the last submit: every command that used a deferred buffer has been
      // submitted, so they may be handed out again (the next step then gets the same buffers).
      this.pool.onSubmit();
      return;
    }
    this.profiler?.beforeFinish(this.encoder);
    const cmd = this.encoder.finish();
    this.encoder = null;
    if (this.uniformUsed > 0) {
      this.device.queue.writeBuffer(this.uniformRing, 0, this.uniformCpu, 0, this.uniformUsed);
      this.uniformUsed = 0;
    }
    this.device.queue.submit([cmd]);
    this.submits++;
    this.pendingDispatches = 0;
    this.pool.onSubmit();
    this.profiler?.afterFlush();
    // An invalid dispatch is reported when its encoder is finished: name the batch, then forget it.
    try {
      this.errors.check();
    } finally {
      this.errors.batch = [];
    }
  }

  /** Read `bytes` from a buffer back to the CPU (flushes first). */
  async read(src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.errors.check();
    if (this.dryRun) throw new Error('a value was read back during a dry run: nothing has been computed (bench/roofline.js counts work without running it)');
    const size = Math.ceil(bytes / 4) * 4;
    let staging = this.stagingFree.find((s) => s.size >= size);
    if (staging) this.stagingFree.splice(this.stagingFree.indexOf(staging), 1);
    else
      staging = this.device.createBuffer({
        size: Math.max(size, 256),
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: 'readback',
      });
    this.copy(src, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, size);
    } catch (e) {
      this.errors.check();
      throw e;
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.stagingFree.push(staging);
    if (this.stagingFree.length > 8) this.stagingFree.shift()!.destroy();
    this.errors.check();
    return out;
  }

  /** Wait until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.errors.check();
  }

  destroy(): void {
    this.uniformRing.destroy();
    for (const s of this.stagingFree) s.destroy();
    this.stagingFree = [];
    this.bindGroups.clear();
  }
}
