// When a rate-limited job may start: the window its limiter call gave it (never before its
// slot, never past the slot's lateness bound), on this worker's monotonic clock, and what to
// do with the job at a given moment. Pure: no Redis, no timers (lib/worker/limited.ts waits).

/** When a job may start, on this worker's monotonic clock (performance.now()). */
export interface Slot {
  earliest: number;
  latest: number;
  /** The limiter call's round trip, for the log line of a late start. */
  rtt: number;
}

/**
 * What to do with a job whose slot is `slot` at `now`: wait this many ms more (a timer may
 * fire early: Bun's setTimeout truncates a fractional delay, so never trust it alone), start,
 * or give the slot back (too late).
 */
export function slotAction(slot: Slot, now: number): number | "start" | "late" {
  if (now < slot.earliest) return slot.earliest - now;
  return now <= slot.latest ? "start" : "late";
}
