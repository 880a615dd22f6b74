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

/** SIGTERMs this process sent itself (stopSelf) and no handler has taken yet. */
let selfSent = 0;

/**
 * Stops the command as a SIGTERM does, told apart from one sent from outside: its output's
 * reader gone (`worker | tee log`, tee ended by the same Ctrl-C or hang-up), the worker's
 * "stopping" line met the closed pipe, and this SIGTERM counted as a second signal: exit 130
 * at once, its running jobs left to lapsed leases.
 */
export function stopSelf(): void {
  selfSent++;
  process.kill(process.pid, "SIGTERM");
}

/** Whether the SIGTERM being handled is one stopSelf sent (each is answered once). */
export function sentBySelf(signal: NodeJS.Signals): boolean {
  if (signal !== "SIGTERM" || selfSent === 0) return false;
  selfSent--;
  return true;
}
