// What the browser benchmarks share: a quantile of a run's figures.

/** The value at quantile `q` (0 best, 0.5 median, 0.9 p90) of `values`, by nearest rank. */
export function quantile(values, q) {
  return [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
}
