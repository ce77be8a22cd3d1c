// Per-kernel timing, switched on by SRASEG_PROFILE=1 (or `enableProfiling()` before init).
//
// With 'timestamp-query' (Vulkan/lavapipe, real GPUs) every dispatch gets its own compute pass with
// beginning/end timestamps, resolved at each flush and read back asynchronously. Without it (Dawn→
// OpenGL) only dispatch counts are kept: ops record synchronously, so completion callbacks cannot be
// attributed to single dispatches, and a wrong table is worse than none. Use SRASEG_BACKEND=vulkan
// (Mesa ≥ 24) or a GPU for times.

export interface KernelTiming {
  family: string;
  calls: number;
  totalMs: number;
}

const MAX_QUERIES = 512; // pairs of timestamps per flush

export class Profiler {
  readonly usesTimestamps: boolean;
  private querySet: GPUQuerySet | null = null;
  private resolveBuf: GPUBuffer | null = null;
  private used = 0;
  private families: string[] = [];
  private table = new Map<string, KernelTiming>();
  private inFlight: Promise<void>[] = [];

  constructor(
    private readonly device: GPUDevice,
    timestamps: boolean,
  ) {
    this.usesTimestamps = timestamps;
    if (timestamps) {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: MAX_QUERIES * 2 });
      this.resolveBuf = device.createBuffer({
        size: MAX_QUERIES * 16,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
    }
  }

  get full(): boolean {
    return this.used >= MAX_QUERIES;
  }

  timestampWrites(family: string): GPUComputePassTimestampWrites {
    const i = this.used++;
    this.families.push(family);
    return { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  beforeFinish(encoder: GPUCommandEncoder): void {
    if (!this.usesTimestamps || this.used === 0) return;
    encoder.resolveQuerySet(this.querySet!, 0, this.used * 2, this.resolveBuf!, 0);
    const staging = this.device.createBuffer({ size: this.used * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuf!, 0, staging, 0, this.used * 16);
    const families = this.families;
    this.families = [];
    this.used = 0;
    // Mapped after submit (afterFlush queues the promise once the copy is in a submitted command buffer).
    this.pendingStaging = { staging, families };
  }

  private pendingStaging: { staging: GPUBuffer; families: string[] } | null = null;

  afterFlush(): void {
    const p = this.pendingStaging;
    if (!p) return;
    this.pendingStaging = null;
    this.inFlight.push(
      p.staging.mapAsync(GPUMapMode.READ).then(() => {
        const t = new BigUint64Array(p.staging.getMappedRange());
        p.families.forEach((f, i) => this.add(f, Number(t[2 * i + 1] - t[2 * i]) / 1e6));
        p.staging.unmap();
        p.staging.destroy();
      }),
    );
  }

  /** Without timestamps: count the dispatch (no time can be attributed to it). */
  count(family: string): void {
    this.add(family, 0);
  }

  private add(family: string, ms: number): void {
    let row = this.table.get(family);
    if (!row) this.table.set(family, (row = { family, calls: 0, totalMs: 0 }));
    row.calls++;
    row.totalMs += ms;
  }

  /** Wait for outstanding measurements and return the table, slowest first. */
  async report(): Promise<KernelTiming[]> {
    await Promise.all(this.inFlight);
    this.inFlight = [];
    return [...this.table.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  reset(): void {
    this.table.clear();
  }
}

export function formatTimings(rows: KernelTiming[]): string {
  const total = rows.reduce((s, r) => s + r.totalMs, 0);
  if (total === 0 && rows.length) {
    const counts = rows.sort((a, b) => b.calls - a.calls).map((r) => `${r.family.padEnd(28)} ${String(r.calls).padStart(7)}`);
    return [`${'kernel'.padEnd(28)} ${'calls'.padStart(7)}   (no timestamp-query on this adapter: counts only)`, ...counts].join('\n');
  }
  const lines = rows.map(
    (r) =>
      `${r.family.padEnd(28)} ${String(r.calls).padStart(7)} ${r.totalMs.toFixed(2).padStart(11)} ms ` +
      `${((100 * r.totalMs) / Math.max(total, 1e-9)).toFixed(1).padStart(5)}%`,
  );
  return [`${'kernel'.padEnd(28)} ${'calls'.padStart(7)} ${'total'.padStart(14)} ${'share'.padStart(6)}`, ...lines].join('\n');
}
