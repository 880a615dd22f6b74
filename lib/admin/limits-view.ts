// The rate limits as `info`, /metrics and the dashboard show them (issue 14): the queue's
// settings, and the keys held now with their next slot. Pure: lib/admin/limits.ts reads the
// numbers, this turns them into text (tested with tables).

import type { HeldKey } from "../engine/held-keys.ts";
import type { Limits } from "../engine/limits.ts";
import { formatRate, type Rate } from "../engine/rates.ts";
import { safeText } from "../safe-text.ts";
import { formatDuration } from "./duration.ts";

/** The queue's settings and its held keys (lib/engine: limits.ts readLimits, held-keys.ts). */
export interface LimitsView extends Limits {
  /** Redis' time when they were read (ms): a held key's next slot is `nextMs - nowMs` away. */
  nowMs: number;
  /**
   * The keys held back (a 429/503's Retry-After, or over their rate or concurrency) whose next
   * slot comes last (at most HELD_SHOWN), latest first: a Retry-After's hold before a busy key.
   */
  held: HeldKey[];
  /** Keys held in all (the list above may show fewer). */
  heldTotal: number;
  /** Why the limits could not be read (a limiter key of another type): shown, not thrown. */
  unreadable?: string;
}

/** Held keys listed by info, /metrics and the dashboard: a queue may hold thousands of hosts. */
export const HELD_SHOWN = 20;

/** Whether there is anything to say: a queue that uses no limit reads as before. */
export function usesLimits(v: LimitsView): boolean {
  if (v.unreadable !== undefined) return true;
  return v.rate !== null || v.keyConcurrency !== null || v.keyRate !== null || v.heldTotal > 0;
}

/** Starts per second a rate allows (for /metrics). */
export function perSecond(r: Rate): number {
  return (r.count * 1_000) / r.perMs;
}

/** `queue 500/s   per key 2 running, 5/s`: the settings in one phrase. */
export function limitSettings(v: LimitsView): string {
  if (v.unreadable !== undefined) return `limits unreadable (${safeText(v.unreadable)})`;
  const perKey = [
    v.keyConcurrency === null ? null : `${v.keyConcurrency} running`,
    v.keyRate === null ? null : formatRate(v.keyRate),
  ].filter((s) => s !== null);
  const queue = `queue ${v.rate === null ? "no limit" : formatRate(v.rate)}`;
  return perKey.length ? `${queue}   per key ${perKey.join(", ")}` : queue;
}

/** `in 12s`, `in 250ms` or `now`: when a held key's next job may start. */
export function nextSlotText(inMs: number): string {
  if (inMs <= 0) return "now";
  return inMs < 1_000 ? `in ${Math.ceil(inMs)}ms` : `in ${formatDuration(inMs)}`;
}

/** info's LIMITS lines (none for a queue that uses no limit), held keys in a table. */
export function formatLimits(v: LimitsView, table: (rows: string[][]) => string[]): string[] {
  if (!usesLimits(v)) return [];
  const lines = [`  limits     ${limitSettings(v)}`];
  if (v.unreadable !== undefined) return lines;
  if (v.heldTotal === 0) return [...lines, "  held keys  none"];
  const more = v.heldTotal > v.held.length ? ` (the ${v.held.length} latest shown)` : "";
  lines.push(`  held keys  ${v.heldTotal}${more}`);
  // Keys are whatever a producer gave (a host, a tenant id): control characters escaped.
  const rows = v.held.map((h) => [
    safeText(h.key),
    nextSlotText(h.nextMs - v.nowMs),
    h.running === null ? "unreadable" : String(h.running),
  ]);
  return [...lines, ...table([["KEY", "NEXT SLOT", "RUNNING"], ...rows]).map((l) => `    ${l}`)];
}
