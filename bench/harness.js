// Timing helpers shared by the benchmarks: median of repeated runs, each followed by a GPU sync, so
// what is measured is the GPU work and its submission, not just the recording.

/** Run `fn` (then `sync`) until `minMs` has passed and at least `minRuns` runs; median in ms. */
export async function timeMedian(fn, sync, { warmup = 2, minRuns = 5, minMs = 1500, maxRuns = 50 } = {}) {
  for (let i = 0; i < warmup; i++) {
    fn();
    await sync();
  }
  const times = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minMs)) {
    const t0 = performance.now();
    fn();
    await sync();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function fmtRate(c, ms) {
  if (c.flops) return `${(c.flops / ms / 1e6).toFixed(2)} GFLOP/s`;
  if (c.bytes) return `${(c.bytes / ms / 1e6).toFixed(2)} GB/s`;
  return '';
}

/** Simple progress bar on stderr: `bar(i, n, label)`. */
export function bar(i, n, label = '') {
  if (!process.stderr.isTTY) return;
  const w = 30;
  const k = Math.round((w * i) / n);
  process.stderr.write(`\r[${'#'.repeat(k)}${'.'.repeat(w - k)}] ${i}/${n} ${label}`.padEnd(90));
  if (i === n) process.stderr.write('\n');
}
