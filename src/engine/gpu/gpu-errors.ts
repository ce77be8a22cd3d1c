// Fail fast on WebGPU errors: an uncaptured error (validation, out of memory, internal) or the loss
// of the device becomes an exception of the next engine call — dispatch, flush, read, write, sync —
// naming the kernel dispatched last, instead of a line on stderr and results computed from garbage
// (an invalid command buffer is skipped by the GPU, so a benchmark would time nothing and a trainer
// would train on stale values).
//
// Dawn delivers uncaptured errors synchronously, inside the API call that made them: a bad bind group
// during the dispatch that creates it, an invalid dispatch when the encoder is finished (at the next
// flush, up to SRASEG_FLUSH_EVERY dispatches later: the message then lists the batch's kernels, and
// SRASEG_FLUSH_EVERY=1 pins it to one dispatch). A validation error is thrown once and then cleared
// (the device stays usable); a lost device is thrown by every later call.

export class GpuError extends Error {
  constructor(
    message: string,
    /** The key of the kernel dispatched last before the error, or null. */
    readonly kernel: string | null,
    readonly kind: string,
  ) {
    super(message);
    this.name = 'GpuError';
  }
}

const BATCH_NAMES = 6;

export class GpuErrorWatch {
  /** Key and op of the kernel dispatched last. */
  lastKernel: string | null = null;
  lastOp: string | null = null;
  /** Keys of the dispatches recorded since the last submit (for errors found when finishing them). */
  batch: string[] = [];
  private pending: GpuError | null = null;
  private lost: GpuError | null = null;

  /** Attach to a device: its uncaptured errors and its loss (not the deliberate destroy()). */
  attach(device: GPUDevice): void {
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      const kind =
        typeof GPUValidationError !== 'undefined' && e instanceof GPUValidationError
          ? 'validation'
          : typeof GPUOutOfMemoryError !== 'undefined' && e instanceof GPUOutOfMemoryError
            ? 'out-of-memory'
            : 'internal';
      this.report(kind, e.message);
    });
    void device.lost.then((info) => {
      if (info.reason === 'destroyed') return;
      this.lost = this.make('device-lost', `the WebGPU device was lost (${info.reason}): ${info.message}`);
    });
  }

  /** Record an error (the first one of a batch wins: later ones are mostly its consequences). */
  report(kind: string, message: string): void {
    if (!this.pending) this.pending = this.make(kind, message);
  }

  private make(kind: string, message: string): GpuError {
    const last = this.lastKernel ? `the kernel dispatched last was '${this.lastKernel}'${this.lastOp && this.lastOp !== this.lastKernel ? ` (op ${this.lastOp})` : ''}` : 'no kernel had been dispatched';
    const distinct = [...new Set(this.batch)];
    const batch =
      distinct.length > 1
        ? `; the unsubmitted batch held ${this.batch.length} dispatches of ${distinct.slice(-BATCH_NAMES).join(', ')}${distinct.length > BATCH_NAMES ? ` and ${distinct.length - BATCH_NAMES} more kernels` : ''} (SRASEG_FLUSH_EVERY=1 pins an error to one dispatch)`
        : '';
    const text = message.trim().split('\n').map((l) => l.trim()).filter(Boolean).join(' | ');
    return new GpuError(`WebGPU ${kind} error: ${last}${batch}. ${text}`, this.lastKernel, kind);
  }

  hasPending(): boolean {
    return this.pending !== null || this.lost !== null;
  }

  /** Throw the pending error (once) or the device's loss (always). */
  check(): void {
    if (this.lost) throw this.lost;
    const e = this.pending;
    if (e) {
      this.pending = null;
      throw e;
    }
  }

  /** Discard a pending error (tests that provoke one on purpose and have checked it). */
  clear(): void {
    this.pending = null;
  }
}
