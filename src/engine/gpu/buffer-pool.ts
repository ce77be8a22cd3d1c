// Size-bucketed storage-buffer pool.
//
// Ownership: a GPU buffer belongs to exactly one Storage (src/engine/tensor/tensor.ts) from acquire() to
// release(). release() does not make the buffer reusable at once: commands that read it may still sit
// in the open command encoder, and a later queue.writeBuffer into a reused buffer would run *before*
// them on the queue timeline. Released buffers wait in `deferred` until the encoder is submitted
// (onSubmit), then join the free lists. The garbage collector is never relied on.
//
// acquire() hands out the free buffer of the bucket that was created first (lowest serial), not the
// one released last: the buffers a step gets then depend only on which buffers are free when it
// starts, not on the order the previous step released them. A training loop's steps thus bind the
// same buffers step after step, and their bind groups come from the cache (bind-groups.ts).

import { BufferLimitError } from '../errors.js';

export interface PoolStats {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  liveBytes: number;
  /** Buffers created over the pool's life (a training loop must stop creating them). */
  createdBuffers: number;
  /** Bytes of all buffers the pool owns (live + free + deferred). */
  totalBytes: number;
  peakLiveBytes: number;
  freeBuffers: number;
  deferredBuffers: number;
}

const MIN_BUCKET = 256;

/** Bucket sizes: powers of two up to 1 MiB, then steps of 1/8 of the power of two (≤ 12.5% waste). */
export function bucketSize(bytes: number): number {
  const n = Math.max(MIN_BUCKET, Math.ceil(bytes / 4) * 4);
  const pow = 2 ** Math.ceil(Math.log2(n));
  if (pow <= 1 << 20) return pow;
  const step = pow / 16;
  return Math.ceil(n / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private deferred: GPUBuffer[] = [];
  private sizes = new WeakMap<GPUBuffer, number>();
  /** Creation order of each buffer; free lists are sorted by it, highest first (pop = lowest). */
  private serials = new WeakMap<GPUBuffer, number>();
  private nextSerial = 0;
  /** The op that acquired each live buffer: `liveByLabel()` tells a leak's source. */
  private liveLabels = new Map<GPUBuffer, string>();
  private stats: PoolStats = {
    liveBuffers: 0,
    liveBytes: 0,
    createdBuffers: 0,
    totalBytes: 0,
    peakLiveBytes: 0,
    freeBuffers: 0,
    deferredBuffers: 0,
  };

  /**
   * Dry run (CommandQueue.dryRun, bench/roofline.js): new buffers are 256-byte placeholders filed under
   * the size asked for, so a full-size step can be counted without its memory. Outside a dry run a
   * placeholder is never handed out (acquire destroys it instead).
   */
  dryRun = false;
  private placeholders = new WeakSet<GPUBuffer>();

  /** Called for each buffer just before the pool destroys it (the bind-group cache forgets it). */
  onDestroy: ((buf: GPUBuffer) => void) | null = null;

  constructor(
    private readonly device: GPUDevice,
    /**
     * The largest buffer handed out: the adapter's largest storage binding. A dry run may raise it to
     * model a larger adapter (runtime.ts `dryRun`: a GPU's bindings on llvmpipe).
     */
    public maxBufferSize: number,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) throw new BufferLimitError(label, bytes, this.maxBufferSize);
    const list = this.free.get(size);
    let buf = list?.pop();
    while (buf && !this.dryRun && this.placeholders.has(buf)) {
      this.stats.totalBytes -= size;
      this.stats.freeBuffers--;
      this.onDestroy?.(buf);
      buf.destroy();
      buf = list!.pop();
    }
    if (buf) {
      this.stats.freeBuffers--;
    } else {
      buf = this.device.createBuffer({
        size: this.dryRun ? MIN_BUCKET : size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label,
      });
      if (this.dryRun) this.placeholders.add(buf);
      this.sizes.set(buf, size);
      this.serials.set(buf, this.nextSerial++);
      this.stats.createdBuffers++;
      this.stats.totalBytes += size;
    }
    this.liveLabels.set(buf, label);
    this.stats.liveBuffers++;
    this.stats.liveBytes += size;
    this.stats.peakLiveBytes = Math.max(this.stats.peakLiveBytes, this.stats.liveBytes);
    return buf;
  }

  /** Give a buffer back; it becomes reusable after the next submit. */
  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) throw new Error('BufferPool.release: buffer does not belong to this pool');
    this.liveLabels.delete(buf);
    this.stats.liveBuffers--;
    this.stats.liveBytes -= size;
    this.deferred.push(buf);
    this.stats.deferredBuffers++;
  }

  /** Called by the queue right after it submits: deferred buffers become free. */
  onSubmit(): void {
    for (const buf of this.deferred) {
      const size = this.sizes.get(buf)!;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      // Insert keeping the list sorted by serial, highest first (lists are short: a few dozen).
      const serial = this.serials.get(buf)!;
      let i = list.length;
      list.push(buf);
      while (i > 0 && this.serials.get(list[i - 1])! < serial) {
        list[i] = list[i - 1];
        i--;
      }
      list[i] = buf;
    }
    this.stats.freeBuffers += this.deferred.length;
    this.stats.deferredBuffers = 0;
    this.deferred = [];
  }

  /** Destroy every free buffer (live ones stay). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buf of list) {
        this.stats.totalBytes -= this.sizes.get(buf)!;
        this.onDestroy?.(buf);
        buf.destroy();
      }
    }
    this.free.clear();
    this.stats.freeBuffers = 0;
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }

  /** Live buffers counted by the op that acquired them, most first (for finding what leaks). */
  liveByLabel(): [string, number][] {
    const counts = new Map<string, number>();
    for (const label of this.liveLabels.values()) counts.set(label, (counts.get(label) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1]);
  }

  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }
}
