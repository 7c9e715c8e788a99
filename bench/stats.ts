/**
 * Order statistics for the benchmarks. The machine is shared and noisy, so every headline number is a median
 * (of samples, or of rounds) and comparisons are ratios taken inside one run.
 */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100). NaN for no values, so a missing measurement cannot pass as zero. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Rounds to `significant` significant digits: reports should not pretend to nanosecond precision. */
export function sig(value: number, significant = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(significant));
}
