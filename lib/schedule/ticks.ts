// When a schedule's ticks are (pure: the clock is an argument, Redis' own in the loop; tested
// with tables in tests/schedule.ticks.test.ts). Every process computes the same ticks from the
// same definition: `every` counts from the stored anchor, cron is read in the stored time zone
// (UTC when none: never the host's own zone, which would give each host its own ticks).
import { cronOf, type ScheduleDef } from "./spec.ts";

/**
 * How late a tick may be fired and still count as on time (each late tick gets its job, in
 * order); an older one was missed (nothing ran) and the missed policy decides. Several
 * schedulers wake at most a second apart (the loop's cap), so 5 s is lateness, not absence.
 */
export const LATE_MS = 5_000;

/** The first tick strictly after `afterMs`, or null when there is none (a cron that ends). */
export function tickAfter(def: ScheduleDef, afterMs: number): number | null {
  if (def.every_ms !== undefined) {
    const k = Math.max(1, Math.floor((afterMs - def.created_at) / def.every_ms) + 1);
    return def.created_at + k * def.every_ms;
  }
  const next = cronOf(def.cron as string, def.tz).nextRun(new Date(afterMs));
  return next === null ? null : next.getTime();
}

/** The latest tick at or before `nowMs`, not before `fromMs` (a tick itself, <= nowMs). */
export function latestTick(def: ScheduleDef, fromMs: number, nowMs: number): number {
  if (def.every_ms !== undefined) {
    const k = Math.floor((nowMs - def.created_at) / def.every_ms);
    return Math.max(fromMs, def.created_at + k * def.every_ms);
  }
  // croner's previousRuns is strictly before its reference: now + 1 ms takes a tick at now.
  const [last] = cronOf(def.cron as string, def.tz).previousRuns(1, new Date(nowMs + 1));
  return Math.max(fromMs, last?.getTime() ?? fromMs);
}

/** What to do with a schedule whose stored next tick is `dueMs`, at `nowMs`. */
export interface Plan {
  /** The tick to enqueue a job for, or null (not due yet, or a missed tick skipped). */
  fire: number | null;
  /** The schedule's next tick after this (null: none, it ends), what the advance stores. */
  next: number | null;
}

/**
 * The plan for one pass: not due yet → nothing; due and at most `lateMs` late → fire it, the
 * next tick after it follows (it may be due too: the next pass fires it). Older (missed): when
 * ticks after it are on time, the first of them fires and the others follow, each in its pass
 * (they stand for the missed ones too: after an outage a tick 3.8 s late got no job when older
 * ones were missed, R-191); when none is, `once` fires the latest missed tick and `skip`
 * nothing, and the next tick is in the future.
 */
export function planTick(def: ScheduleDef, dueMs: number, nowMs: number, lateMs = LATE_MS): Plan {
  if (dueMs > nowMs) return { fire: null, next: dueMs };
  if (nowMs - dueMs <= lateMs) return { fire: dueMs, next: tickAfter(def, dueMs) };
  const missedBy = nowMs - lateMs - 1; // a tick at or before this is missed
  const firstOnTime = tickAfter(def, missedBy);
  if (firstOnTime !== null && firstOnTime <= nowMs) {
    return { fire: firstOnTime, next: tickAfter(def, firstOnTime) };
  }
  const latest = latestTick(def, dueMs, nowMs);
  return { fire: def.missed === "once" ? latest : null, next: firstOnTime };
}

/** The first tick of a schedule added, or resumed, at `nowMs`. */
export function firstTick(def: ScheduleDef, nowMs: number): number | null {
  return tickAfter(def, nowMs);
}
