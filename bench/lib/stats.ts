/** Small, dependency-free statistics for repeated benchmark runs. */

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile, p in [0, 100]. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The spread of repeated runs as min–max, so a reader sees how noisy the machine was. */
export function spread(values: number[], digits = 0): string {
  if (values.length < 2) return 'n=1';
  return `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;
}

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toFixed(digits);
}

export function ratio(ours: number, baseline: number): number {
  return baseline > 0 ? ours / baseline : Number.NaN;
}
