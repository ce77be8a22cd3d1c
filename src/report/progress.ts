// A one-line progress bar for long runs: iteration, rate, ETA and free-form fields (loss, Dice…).
// On a non-TTY (CI logs, files) it prints a plain line every `plainEvery` updates instead.

export class ProgressBar {
  private start = performance.now();
  private startIter: number;
  private updates = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly total: number,
    private readonly label = '',
    from = 0,
    private readonly plainEvery = 20,
  ) {
    this.startIter = from;
  }

  update(iter: number, fields: Record<string, string | number> = {}): void {
    this.updates++;
    const elapsed = (performance.now() - this.start) / 1000;
    const done = iter - this.startIter;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - iter) / rate : Infinity;
    const f = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(4) : v}`)
      .join(' · ');
    const frac = Math.min(1, iter / this.total);
    const width = 24;
    const fillN = Math.round(frac * width);
    const bar = `[${'█'.repeat(fillN)}${'·'.repeat(width - fillN)}]`;
    const line = `${this.label}${bar} ${iter}/${this.total} · ${rate.toFixed(2)} it/s · ETA ${fmtDuration(eta)}${f ? ' · ' + f : ''}`;
    if (this.tty) process.stderr.write(`\r${line.padEnd(process.stderr.columns ? process.stderr.columns - 1 : 120)}`);
    else if (this.updates % this.plainEvery === 1 || iter >= this.total) console.error(line);
  }

  /** Print a message on its own line without breaking the bar. */
  log(message: string): void {
    if (this.tty) process.stderr.write('\r\x1b[2K');
    console.error(message);
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
