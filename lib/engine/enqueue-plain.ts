// The common enqueue, with no script (docs/internals.md, "1. Enqueue"): one auto-id job, due
// now, at the normal level, from a producer on one server that never sends a call twice (no
// retry window: no receipt is ever looked for) to a queue whose format, layout and key types
// the script checked less than PLAIN_RECHECK_MS ago. One write: the events cursor's `XREVRANGE`,
// the `enqueued` count's `HINCRBY` and the job's `XADD … NOMKSTREAM`. enqueue.lua does the rest
// (receipts, ids, delays, levels, a fresh queue's format) and says every refusal.
import { ErrorReply } from "@redis/client";
import type { Redis } from "../redis/connect.ts";
import type { EnqueueReply, PreparedJob } from "./enqueue.ts";
import type { QueueKeys } from "./keys.ts";

/**
 * Whether `job` can go without the script: an auto id at the normal level (due now: a delayed
 * job, and a high or low one, always has an id, prepareBatch's if not the caller's).
 */
export function isPlain(job: PreparedJob): boolean {
  return job.id === "" && job.level === "normal";
}

/** What a plain enqueue falls back on, and tells. */
export interface PlainHooks {
  /** The script, for the same job: it refuses as every enqueue does, or enqueues the job. */
  script: () => Promise<EnqueueReply>;
  /** This shard's next jobs go by the script (something failed: it checks the queue first). */
  off: () => void;
}

/**
 * Sends `job` (isPlain). The count goes just before the entry, so the two see the same Redis
 * (a full one refuses both: a command's memory check, and nothing of another client's runs
 * between two commands of one write). No entry added (a stream key of another type, a full
 * Redis, no stream: Redis emptied or restarted without its data since the check): the script
 * sends the job (writing a lost queue's format again, checking its layout) or refuses it; a
 * count made for it is taken back only when the queue was lost (its counter starts again
 * anyway), else kept: a counter that goes down reads as a reset. Added with its count refused
 * (`stats` of another type): kept, uncounted. Either way the shard goes by the script until it
 * has checked the queue again: a count is off by one at most once per such failure.
 */
export async function enqueuePlain(
  client: Redis,
  keys: QueueKeys,
  job: PreparedJob,
  hooks: PlainHooks,
): Promise<EnqueueReply> {
  // The fields in the order enqueue.lua writes a batch's first job's.
  const xadd = ["XADD", keys.stream, "NOMKSTREAM", "*", "t", job.task, "p", job.payload];
  xadd.push("a", "0", "m", job.maxAttempts);
  if (job.options !== "") xadd.push("o", job.options);
  if (job.limitKey !== "") xadd.push("k", job.limitKey);
  // Sent in one turn, so written together and run in this order. The cursor before the entry:
  // no event of the job can come before it (as enqueue.lua reads it).
  const [cursor, count, entry] = await Promise.allSettled([
    client.sendCommand<[string, string[]][]>(["XREVRANGE", keys.events, "+", "-", "COUNT", "1"]),
    client.sendCommand(["HINCRBY", keys.stats, "enqueued", "1"]),
    client.sendCommand<string | null>(xadd),
  ]);
  if (entry.status === "rejected" && !(entry.reason instanceof ErrorReply)) throw entry.reason;
  if (entry.status === "rejected" || entry.value === null) {
    hooks.off();
    if (entry.status === "fulfilled" && count.status === "fulfilled") {
      await client.sendCommand(["HINCRBY", keys.stats, "enqueued", "-1"]);
    }
    return hooks.script();
  }
  if (count.status === "rejected") hooks.off();
  const entryId = entry.value;
  return {
    jobs: [{ id: entryId + keys.idSuffix, entryId, created: true }],
    // None when the events key is not a stream: the wait then looks first (as the script's).
    eventsCursor: cursor.status === "fulfilled" ? (cursor.value[0]?.[0] ?? "0-0") : null,
  };
}
