// The common enqueue, with no script (docs/internals.md, "1. Enqueue"): one auto-id job, due
// now, at the normal level, from a producer on one server that never sends a call twice (no
// retry window: no receipt is ever looked for) to a queue whose format it knows written. One
// write: the queue's `meta` and the events cursor read, then `MULTI`, the job's `XADD …
// NOMKSTREAM` and the `enqueued` count's `HINCRBY`, `EXEC`: both or neither (a full Redis
// refuses the whole transaction). enqueue.lua does the rest (receipts, ids, delays, levels, a
// fresh queue's format) and says every refusal.
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
  /** This shard's next jobs go by the script (the queue is not as the producer knew it). */
  off: () => void;
}

/**
 * Sends `job` (isPlain). Nothing added (a stream key of another type; no stream: Redis was
 * emptied, or restarted without its data, since the producer connected; a full Redis): its
 * count is taken back if it was made, and the script sends the job (writing a fresh queue's
 * format, checking its layout) or refuses it. Added to a queue whose `meta` says it is not the
 * one-shard queue the producer knew (made again with other shards, or `meta` of another type):
 * taken back (no worker reads that stream), and the script refuses. Added with no format (a
 * `meta` deleted by hand) or its count refused (`stats` of another type): kept. The shard goes by
 * the script from then on, until a batch of the script's creates a job there again.
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
  // Sent in one turn, so written together and run in this order: no other command of this
  // connection between MULTI and EXEC. The cursor before the entry: no event of the job can
  // come before it (as enqueue.lua reads it).
  const sent = [
    client.sendCommand<(string | null)[]>(["HMGET", keys.meta, "format", "shards"]),
    client.sendCommand<[string, string[]][]>(["XREVRANGE", keys.events, "+", "-", "COUNT", "1"]),
    client.sendCommand(["MULTI"]),
    client.sendCommand(xadd),
    client.sendCommand(["HINCRBY", keys.stats, "enqueued", "1"]),
    client.sendCommand<unknown[]>(["EXEC"]),
  ] as const;
  const [meta, cursor, , , , exec] = await Promise.allSettled(sent);
  if (exec.status === "rejected") {
    // EXECABORT (a full Redis refused the XADD when queued), or no reply: lost, maybe done.
    if (!(exec.reason instanceof ErrorReply)) throw exec.reason;
    return hooks.script();
  }
  const [entry, count] = exec.value;
  const counted = !(count instanceof ErrorReply);
  const takeBack = async () => {
    hooks.off();
    if (counted) await client.sendCommand(["HINCRBY", keys.stats, "enqueued", "-1"]);
  };
  if (typeof entry !== "string") {
    await takeBack(); // no stream (null), or a key of another type: nothing added
    return hooks.script();
  }
  const known = meta.status === "fulfilled" ? meta.value : null;
  if (known === null || (known[1] !== null && known[1] !== "1")) {
    await takeBack();
    await client.sendCommand(["XDEL", keys.stream, entry]);
    return hooks.script();
  }
  if (known[0] === null || !counted) hooks.off();
  return {
    jobs: [{ id: entry + keys.idSuffix, entryId: entry, created: true }],
    // None when the events key is not a stream: the wait then looks first (as the script's).
    eventsCursor: cursor.status === "fulfilled" ? (cursor.value[0]?.[0] ?? "0-0") : null,
  };
}
