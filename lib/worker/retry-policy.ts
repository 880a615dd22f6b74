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
