// The buffer pool's figures as every trainer logs them (log.jsonl rows and the progress line), so a
// user sees a leak in their own run: live bytes that grow from step to step.
import { memoryStats } from '../engine/index.js';

export interface MemoryRow {
  /** Bytes and buffers handed out by the pool and not yet released. */
  liveBytes: number;
  liveBuffers: number;
  /** The most bytes ever live at once. */
  peakBytes: number;
}

export function memoryRow(): MemoryRow {
  const s = memoryStats();
  return { liveBytes: s.liveBytes, liveBuffers: s.liveBuffers, peakBytes: s.peakLiveBytes };
}

const MIB = 1024 * 1024;

/** "812 MiB (peak 1.9 GiB)" for the progress line. */
export function formatMemory(row: MemoryRow): string {
  const f = (b: number) => (b >= 1024 * MIB ? `${(b / 1024 / MIB).toFixed(1)} GiB` : `${Math.round(b / MIB)} MiB`);
  return `${f(row.liveBytes)} (peak ${f(row.peakBytes)})`;
}
