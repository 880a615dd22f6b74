// Retry back-off: exponential, capped, with jitter so jobs that failed together (a site that
// went down) do not all come back in the same instant.

export interface BackoffOptions {
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * Delay before the attempt after `attempt` (1-based): base · 2^(attempt−1), capped at max,
 * then scaled by a factor in [0.75, 1.25). `random` is injectable for table tests.
 */
export function backoffMs(
  attempt: number,
  o: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = o.backoffBaseMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(exp, o.backoffMaxMs);
  return Math.round(capped * (0.75 + random() * 0.5));
}

/** A job left for a worker that has its task: back at once the first time, then 50 ms doubling. */
const DEFERRAL = { backoffBaseMs: 50, backoffMaxMs: 1_000 };

/**
 * The delays of a job's deferrals (engine v2's leave.lua indexes them by the job's count, the
 * last for every later one): 0, then 50 ms doubling up to 1 s, each jittered as backoffMs, so
 * a job that workers without its task keep taking costs them at most about one read a second.
 */
export function deferralDelaysMs(random: () => number = Math.random): number[] {
  return [0, ...[1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, DEFERRAL, random))];
}
