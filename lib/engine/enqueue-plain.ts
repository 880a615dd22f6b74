// The common enqueue, with no script (docs/internals.md, "1. Enqueue"): one auto-id job, due
// now, at the normal level, from a producer that never sends a call twice (no retry window:
// no receipt is ever looked for) to a queue whose format it knows written. Its `XADD` and the
// `enqueued` count's `HINCRBY`, sent together (one write, one round trip); enqueue.lua does
// the rest (receipts, ids, delays, levels, a fresh queue's format) and every refusal.
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

/** A plain enqueue's reply: `uncounted`, the job was added but its count refused. */
export type PlainReply = EnqueueReply & { uncounted?: boolean };

/**
 * Sends `job` (isPlain) as `XADD` + `HINCRBY`. An `XADD` that Redis refuses (a key of another
 * type, a full Redis, a stream with no ids left) added nothing: its count is taken back and
 * `refused()` runs, the script, whose refusal says why as every enqueue's does (or which
 * enqueues the job, if the cause has passed). A count refused after the job was added (the
 * stats key holds another type) leaves the job enqueued, `uncounted`: the producer then sends
 * by the script, which refuses such a queue before any write.
 */
export async function enqueuePlain(
  client: Redis,
  keys: QueueKeys,
  job: PreparedJob,
  refused: () => Promise<EnqueueReply>,
): Promise<PlainReply> {
  // The fields in the order enqueue.lua writes a batch's first job's.
  const xadd = ["XADD", keys.stream, "*", "t", job.task, "p", job.payload, "a", "0"];
  xadd.push("m", job.maxAttempts);
  if (job.options !== "") xadd.push("o", job.options);
  if (job.limitKey !== "") xadd.push("k", job.limitKey);
  const added = client.sendCommand<string>(xadd);
  const counted = client.sendCommand(["HINCRBY", keys.stats, "enqueued", "1"]);
  const [entry, count] = await Promise.allSettled([added, counted]);
  if (entry.status === "rejected") {
    if (!(entry.reason instanceof ErrorReply)) throw entry.reason; // lost: it may have been added
    if (count.status === "fulfilled") {
      await client.sendCommand(["HINCRBY", keys.stats, "enqueued", "-1"]).catch(() => {});
    }
    return refused();
  }
  const entryId = String(entry.value);
  return {
    jobs: [{ id: entryId + keys.idSuffix, entryId, created: true }],
    eventsCursor: cursorBefore(entryId),
    ...(count.status === "rejected" ? { uncounted: true } : {}),
  };
}

/**
 * An events cursor no event of the job with entry `entryId` can come before: the last id of
 * the millisecond before the entry's. An event is written after its job's entry, on the same
 * server, its id at least that server's time then; an entry id is at least its time too, and
 * the events stream numbers its own entries within a millisecond, so only the entry's
 * millisecond, not its sequence, bounds them. Redis' clock set back (or a stream's ids ahead of
 * it) can put an event before the cursor: the wait then wakes by its read's time limit and its
 * outcome read (lib/queue/wait.ts), never misses the job.
 */
export function cursorBefore(entryId: string): string {
  const ms = /^(\d+)-\d+$/.exec(entryId)?.[1];
  if (ms === undefined || /^0+$/.test(ms)) return "0-0";
  // Exact as a Number below 2^53 (every real clock); BigInt only past it.
  const before = ms.length < 16 ? String(Number(ms) - 1) : String(BigInt(ms) - 1n);
  return `${before}-18446744073709551615`;
}
