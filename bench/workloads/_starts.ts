// A limited queue's starts, as its tasks stamped them (wall-clock ms, from every worker
// process): the sustained rate and the most starts any one interval held.

/** The middle share of the starts the rate is fitted on: the first and last tenth left out. */
const TRIM = 0.1;

/**
 * Starts per second over the middle of the run: the least-squares slope of the start's rank
 * against its time, so neither the first burst nor the last stragglers weigh on it.
 */
export function sustainedRate(starts: readonly number[]): number {
  const sorted = [...starts].sort((a, b) => a - b);
  const from = Math.floor(sorted.length * TRIM);
  const middle = sorted.slice(from, sorted.length - from);
  const n = middle.length;
  if (n < 2) return Number.NaN;
  const meanT = middle.reduce((s, t) => s + t, 0) / n;
  const meanI = (n - 1) / 2;
  let cov = 0;
  let varT = 0;
  middle.forEach((t, i) => {
    cov += (t - meanT) * (i - meanI);
    varT += (t - meanT) ** 2;
  });
  return (cov / varT) * 1_000;
}

/** The most starts in any window of `intervalMs` (the limit's guarantee: at most its N). */
export function mostInWindow(starts: readonly number[], intervalMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last]! - sorted[first]! >= intervalMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}
