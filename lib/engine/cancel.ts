// Canceling jobs (docs/internals.md, "Cancel"): owns cancel.lua's KEYS/ARGV order and its reply,
// and the read of the shard's `canceled` stream that workers running jobs make.
import type { Redis } from "../redis/connect.ts";
import { GROUP, levelKeys, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Where a job was when it was canceled (the detail of a `canceled` verdict). */
export type CanceledFrom =
  | "queued"
  | "scheduled"
  | "retrying"
  | "parked"
  | "started"
  | "waiting-for-parents";

/**
 * What a cancel did with one id: canceled (and where the job was); ended already (finished,
 * failed or canceled: nothing written, so a second cancel is a no-op); unknown (never enqueued,
 * or its outcome expired); corrupt (`r:<id>` or the record holds another type: nothing written).
 */
export type CancelVerdict =
  | { id: string; verdict: "canceled"; from: CanceledFrom }
  | { id: string; verdict: "ended"; status: "finished" | "failed" | "canceled" }
  | { id: string; verdict: "unknown" }
  | { id: string; verdict: "corrupt"; type: string };

export interface CancelOptions {
  /** Seconds the canceled outcome (and the record) is kept: the failure TTL. */
  failureTtlS: number;
  eventsMaxLen: number;
}

/**
 * Entries (one per cancel call) the shard's `canceled` stream keeps, about: far more than the
 * calls of a worker's look (cancelCheckMs), so a worker running the job sees it; a worker cut
 * off for longer has its finish lose to the canceled outcome anyway.
 */
export const CANCELED_KEPT = 10_000;

/** How far back (ms of entry ids) a worker's first look reads: the cancels of the last minute. */
export const CANCELED_LOOKBACK_MS = 60_000;

/** Cancels jobs of one shard (`ids` all of this shard), in the order given. */
export async function cancelJobs(
  client: Redis,
  k: QueueKeys,
  o: CancelOptions,
  ids: readonly string[],
): Promise<CancelVerdict[]> {
  if (ids.length === 0) return [];
  const [high, low] = [levelKeys(k, "high"), levelKeys(k, "low")];
  const keys = [k.stream, k.delayed, k.events, k.stats, k.canceled, k.tasks];
  const levels = [high.stream, high.delayed, high.tasks, low.stream, low.delayed, low.tasks];
  const flows = [k.hasDependents, k.endedParents, k.children, k.lettingGo];
  const args = [k.resultPrefix, k.recordPrefix, k.parkedPrefix, GROUP];
  const reply = await runScript<[string, string][]>(
    client,
    scripts.cancel,
    [...keys, ...levels, ...flows],
    [
      ...args,
      o.failureTtlS,
      o.eventsMaxLen,
      CANCELED_KEPT,
      high.parkedPrefix,
      low.parkedPrefix,
      k.waitsPrefix,
      k.parentsPrefix,
      ...ids,
    ],
  );
  return ids.map((id, i) => verdictOf(id, reply[i] ?? ["unknown", ""]));
}

function verdictOf(id: string, [verdict, detail]: [string, string]): CancelVerdict {
  if (verdict === "canceled") return { id, verdict, from: detail as CanceledFrom };
  if (verdict === "ended") {
    return { id, verdict, status: detail as "finished" | "failed" | "canceled" };
  }
  if (verdict === "corrupt") return { id, verdict, type: detail };
  return { id, verdict: "unknown" };
}

/**
 * The ids canceled on this shard after entry `after` of its `canceled` stream, with the last
 * entry read: a worker's look for canceled jobs it runs (lib/worker/cancels.ts). Stream ids only
 * grow, so no cancel is missed when Redis' clock steps. `after` null (a first look): the
 * cancels of the CANCELED_LOOKBACK_MS before the newest entry (by the entry ids' ms: Redis'
 * clock when written). At most `limit` entries a call; the caller reads on while they come full.
 */
export async function canceledAfter(
  client: Redis,
  k: QueueKeys,
  after: string | null,
  limit = 1_000,
): Promise<{ ids: string[]; last: string | null; full: boolean }> {
  let from = after === null ? null : `(${after}`;
  if (from === null) {
    const newest = await client.sendCommand<[string, string[]][]>([
      "XREVRANGE",
      k.canceled,
      "+",
      "-",
      "COUNT",
      "1",
    ]);
    const ms = Number(/^(\d+)-/.exec(newest[0]?.[0] ?? "")?.[1] ?? Number.NaN);
    if (!Number.isFinite(ms)) return { ids: [], last: null, full: false };
    from = `${Math.max(0, ms - CANCELED_LOOKBACK_MS)}-0`;
  }
  const entries = await client.sendCommand<[string, string[]][]>([
    "XRANGE",
    k.canceled,
    from,
    "+",
    "COUNT",
    String(limit),
  ]);
  const ids: string[] = [];
  for (const [, fields] of entries) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      // One by one: a spread of an entry with a million commas (written by hand) overflows
      // the call stack, and every later cancel would go unseen.
      if (fields[i] !== "ids") continue;
      for (const id of String(fields[i + 1]).split(",")) if (id !== "") ids.push(id);
    }
  }
  return { ids, last: entries.at(-1)?.[0] ?? after, full: entries.length === limit };
}
