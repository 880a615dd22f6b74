// When a rate-limited job may start: the window its limiter call gave it (never before its
// slot, never past the slot's lateness bound), on this worker's monotonic clock, and what to
// do with the job at a given moment, and how long its running slot may be held. Pure: no Redis,
// no timers (lib/worker/limited.ts waits).
import { INTERVAL_LIMIT_MS } from "../config.ts";

/** A running slot outlives its attempt's time limit by this much (the outcome's write). */
const SLOT_MARGIN_MS = 5_000;

/**
 * How long a job's running slot of its key may be held at most (limit.lua; it frees itself then,
 * as a dead worker's does): the attempt's time limit `limitMs`, the horizon and a margin. A task
 * of no limit (`timeoutMs: Infinity`) is held as long as the longest limit (INTERVAL_LIMIT_MS):
 * asked with an endless slot, limit.lua raised after its first writes, so the job never started
 * and its key's slot stayed taken for ever.
 */
export function runningSlotMs(limitMs: number, horizonMs: number): number {
  return Math.min(limitMs, INTERVAL_LIMIT_MS) + horizonMs + SLOT_MARGIN_MS;
}

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
