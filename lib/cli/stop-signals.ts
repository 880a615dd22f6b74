// The signals a long-running command (worker, scheduler, dashboard, `info --watch`, `queue
// events`, the stack) stops gracefully on: SIGINT (Ctrl-C), SIGTERM (a supervisor) and SIGHUP
// (its terminal closed: an ssh session dropped). Left to its default action, SIGHUP ended a
// worker at once (exit 129), its running jobs claimed by others only after their leases lapsed.

export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Calls `handler` on each stop signal (`once`: on the first of each name only); returns the
 * function that removes it.
 */
export function onStopSignals(
  handler: (signal: NodeJS.Signals) => void,
  options: { once?: boolean } = {},
): () => void {
  for (const name of STOP_SIGNALS) {
    if (options.once) process.once(name, handler);
    else process.on(name, handler);
  }
  return () => {
    for (const name of STOP_SIGNALS) process.off(name, handler);
  };
}
