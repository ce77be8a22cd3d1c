// The command queue: one open encoder and compute pass, flushed every N dispatches and before any
// readback. Uniforms for all dispatches of a batch live in one ring buffer, written once per flush,
// so no dispatch creates a buffer of its own.
import type { BufferPool } from './buffer-pool.js';
import type { CompiledKernel } from './pipelines.js';
import type { Profiler } from './profiler.js';

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter we target
const UNIFORM_RING_BYTES = 256 * 1024;

export interface Binding {
  buffer: GPUBuffer;
  /** Byte offset (must be a multiple of 256) and size; the whole buffer when absent. */
  offset?: number;
  size?: number;
}

export class CommandQueue {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingDispatches = 0;
  private uniformRing: GPUBuffer;
  private uniformCpu = new ArrayBuffer(UNIFORM_RING_BYTES);
  private uniformUsed = 0;
  private stagingFree: GPUBuffer[] = [];
  readonly flushEvery: number;
  dispatches = 0;
  submits = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    private readonly profiler: Profiler | null,
  ) {
    this.flushEvery = Number(process.env.SRASEG_FLUSH_EVERY ?? 32);
    this.uniformRing = device.createBuffer({
      size: UNIFORM_RING_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform-ring',
    });
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
    }
  }

  /**
   * Record one dispatch. `uniforms` (≤ 256 bytes) is bound at binding 0 when present, then `buffers`
   * at bindings 1.. in order (0.. without uniforms).
   */
  dispatch(kernel: CompiledKernel, buffers: Binding[], uniforms: ArrayBuffer | null, grid: [number, number, number]): void {
    if (uniforms && this.uniformUsed + UNIFORM_SLOT > UNIFORM_RING_BYTES) this.flush();
    const entries: GPUBindGroupEntry[] = [];
    let b = 0;
    if (uniforms) {
      if (uniforms.byteLength > UNIFORM_SLOT) throw new Error(`${kernel.key}: uniforms exceed ${UNIFORM_SLOT} bytes`);
      new Uint8Array(this.uniformCpu, this.uniformUsed, uniforms.byteLength).set(new Uint8Array(uniforms));
      entries.push({ binding: b++, resource: { buffer: this.uniformRing, offset: this.uniformUsed, size: uniforms.byteLength } });
      this.uniformUsed += UNIFORM_SLOT;
    }
    for (const buf of buffers) {
      entries.push({ binding: b++, resource: { buffer: buf.buffer, offset: buf.offset ?? 0, size: buf.size } });
    }
    const bindGroup = this.device.createBindGroup({ layout: kernel.layout, entries });
    if (this.profiler?.usesTimestamps) {
      this.endPass();
      const pass = this.ensureEncoder().beginComputePass({ timestampWrites: this.profiler.timestampWrites(kernel.family) });
      pass.setPipeline(kernel.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
      pass.end();
    } else {
      const pass = this.ensurePass();
      pass.setPipeline(kernel.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    }
    this.dispatches++;
    this.pendingDispatches++;
    if (this.profiler && !this.profiler.usesTimestamps) this.profiler.count(kernel.family);
    if (this.pendingDispatches >= this.flushEvery || (this.profiler?.full ?? false)) {
      this.flush();
    }
  }

  /** Copy between buffers (ends the compute pass; the next dispatch opens a new one). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pendingDispatches++;
  }

  /** Fill a buffer region with zeros via the encoder (ordered with the dispatches around it). */
  clear(buf: GPUBuffer, offset: number, bytes: number): void {
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
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submit everything recorded so far. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
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
  }

  /** Read `bytes` from a buffer back to the CPU (flushes first). */
  async read(src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
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
    await staging.mapAsync(GPUMapMode.READ, 0, size);
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.stagingFree.push(staging);
    if (this.stagingFree.length > 8) this.stagingFree.shift()!.destroy();
    return out;
  }

  /** Wait until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  destroy(): void {
    this.uniformRing.destroy();
    for (const s of this.stagingFree) s.destroy();
    this.stagingFree = [];
  }
}
