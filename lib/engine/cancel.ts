// Canceling jobs (docs/internals.md, "Cancel"): owns cancel.lua's KEYS/ARGV order and its reply,
// and the read of the shard's `canceled` set that workers running jobs make.
import type { Redis } from "../redis/connect.ts";
import { GROUP, levelKeys, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Where a job was when it was canceled (the detail of a `canceled` verdict). */
export type CanceledFrom = "queued" | "scheduled" | "retrying" | "parked" | "started";

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
 * How long (ms, Redis' clock) a canceled id stays in the shard's `canceled` set: far longer than
 * a worker's look (cancelCheckMs) and than a read's lost reply, so a worker running the job
 * sees it; a worker cut off for longer has its finish lose to the canceled outcome anyway.
 */
export const CANCELED_KEPT_MS = 60_000;

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
  const args = [k.resultPrefix, k.recordPrefix, k.parkedPrefix, GROUP];
  const reply = await runScript<[string, string][]>(
    client,
    scripts.cancel,
    [...keys, ...levels],
    [
      ...args,
      o.failureTtlS,
      o.eventsMaxLen,
      CANCELED_KEPT_MS,
      high.parkedPrefix,
      low.parkedPrefix,
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
 * The ids canceled on this shard at or after `sinceMs` (Redis' ms), with the newest score
 * seen: a worker's look for canceled jobs it runs (lib/worker/cancels.ts). Inclusive of
 * `sinceMs`, so an id added in the same ms after the last look is not missed.
 */
export async function canceledSince(
  client: Redis,
  k: QueueKeys,
  sinceMs: number | null,
  limit = 10_000,
): Promise<{ ids: string[]; lastMs: number | null }> {
  const from = sinceMs === null ? "-inf" : String(sinceMs);
  const flat = await client.sendCommand<string[]>([
    "ZRANGEBYSCORE",
    k.canceled,
    from,
    "+inf",
    "WITHSCORES",
    "LIMIT",
    "0",
    String(limit),
  ]);
  const ids: string[] = [];
  let lastMs = sinceMs;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    ids.push(flat[i]!);
    lastMs = Number(flat[i + 1]);
  }
  return { ids, lastMs };
}
