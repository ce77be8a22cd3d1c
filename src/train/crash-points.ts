// Named points between the file writes of a training run, where the crash tests stop the process.
// `SRASEG_TEST_KILL_AT=<label>[@<n>]` makes the n-th arrival (default the first) at <label> kill the
// process with SIGKILL on the spot — no finally block, no flush, exactly as kill -9 from outside, but at
// a precise point (test/crash.test.ts). Unset (always, outside tests) this costs one string compare.
// Labels, in the order a checkpoint writes its files:
//   log             a log row was appended (the rows after the last checkpoint must be cut on resume)
//   checkpoint-tmp  the checkpoint's temporary file is complete, not yet renamed into place
//   checkpoint      the checkpoint is in place; no export (model_last/model_best, G_ema…) written yet
//   export          one export file was written, the others not yet
// In-process tests may set a handler instead (`onCrashPoint`), e.g. one that throws.

let handler: ((label: string) => void) | null = null;
const hits = new Map<string, number>();

/** Replace the environment-driven kill with `fn` (null: back to the environment). For tests. */
export function onCrashPoint(fn: ((label: string) => void) | null): void {
  handler = fn;
  hits.clear();
}

export function crashPoint(label: string): void {
  if (handler) return handler(label);
  const spec = process.env.SRASEG_TEST_KILL_AT;
  if (!spec) return;
  const [want, nth = '1'] = spec.split('@');
  if (want !== label) return;
  const n = (hits.get(label) ?? 0) + 1;
  hits.set(label, n);
  if (n === Number(nth)) process.kill(process.pid, 'SIGKILL');
}
