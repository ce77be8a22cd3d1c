// Small statistics with numpy's definitions, so numbers match the Python evaluation scripts.

/** numpy.percentile(values, q) with its default 'linear' method (q in [0, 100]). */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new Error('percentile: no values');
  if (!(q >= 0 && q <= 100)) throw new Error(`percentile: q = ${q} is outside [0, 100]`);
  const sorted = Float64Array.from(values).sort();
  const position = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new Error('mean: no values');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Largest value (a loop: spreading a large array into Math.max overflows the call stack). */
export function max(values: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

/** Mean of the values that are defined, and how many were not. */
export function meanDefined(values: readonly (number | null)[]): { mean: number | null; undefinedCount: number } {
  const defined = values.filter((v): v is number => v !== null);
  return { mean: defined.length ? mean(defined) : null, undefinedCount: values.length - defined.length };
}
