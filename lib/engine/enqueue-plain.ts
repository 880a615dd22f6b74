// The common enqueue in one small script call (enqueue-one.lua; docs/internals.md, "1. Enqueue"):
// one auto-id job, due now, at the normal level, from a producer on one server that never sends
// a call twice (no retry window: no receipt is ever looked for) to a queue whose format, layout
// and key types enqueue.lua checked less than PLAIN_RECHECK_MS ago: the events cursor, the
// job's `XADD … NOMKSTREAM` and its count, nothing else. enqueue.lua does the rest (receipts,
// ids, delays, levels, a fresh queue's format) and says every refusal.
import { ErrorReply } from "@redis/client";
import type { Redis } from "../redis/connect.ts";
import type { EnqueueReply, PreparedJob } from "./enqueue.ts";
import type { QueueKeys } from "./keys.ts";
import { scriptCommand, scripts, sendScript } from "./lua.ts";

/**
 * Whether `job` can go this way: an auto id at the normal level (due now: a delayed job, and a
 * high or low one, always has an id, prepareBatch's if not the caller's).
 */
export function isPlain(job: PreparedJob): boolean {
  return job.id === "" && job.level === "normal";
}

/** What a plain enqueue falls back on, and tells. */
export interface PlainHooks {
  /** enqueue.lua, for the same job: it refuses as every enqueue does, or enqueues the job. */
  script: () => Promise<EnqueueReply>;
  /** This shard's next jobs go by enqueue.lua (something failed: it checks the queue first). */
  off: () => void;
}

type OneReply = [string | null, string | null, number];

/**
 * Sends `job` (isPlain). Nothing written (an error reply: a stream key of another type, a full
 * Redis, no ids left; or no stream: Redis emptied or restarted without its data since the check):
 * enqueue.lua sends the job (writing a lost queue's format again, checking its layout) or
 * refuses it. Added with its count refused (`stats` of another type, or an `enqueued` that is no
 * integer): the job is in, uncounted.
 * Either way the shard goes by enqueue.lua until it has checked the queue again.
 */
export async function enqueuePlain(
  client: Redis,
  keys: QueueKeys,
  job: PreparedJob,
  hooks: PlainHooks,
): Promise<EnqueueReply> {
  const s = scripts.enqueueOne;
  // The fields in the order enqueue.lua writes a batch's first job's.
  const fields = ["t", job.task, "p", job.payload, "a", "0", "m", job.maxAttempts];
  if (job.options !== "") fields.push("o", job.options);
  if (job.limitKey !== "") fields.push("k", job.limitKey);
  const { command, at } = scriptCommand(s, [keys.stream, keys.stats, keys.events], fields.length);
  fields.forEach((v, k) => {
    command[at + k] = v;
  });
  let reply: OneReply;
  try {
    reply = await sendScript<OneReply>(client, s, command);
  } catch (err) {
    if (!(err instanceof ErrorReply)) throw err; // no reply: it may have been added
    hooks.off();
    return hooks.script();
  }
  const [entry, cursor, counted] = reply;
  if (entry === null) {
    hooks.off();
    return hooks.script();
  }
  if (counted !== 1) hooks.off();
  return {
    jobs: [{ id: entry + keys.idSuffix, entryId: entry, created: true }],
    // None when the events key is not a stream: the wait then looks first (as enqueue.lua's).
    eventsCursor: cursor,
  };
}
