// Enqueue in v2 (docs/internals.md, "1. Enqueue"): the typed owner of enqueue.lua's KEYS/ARGV and reply.
// A batch is prepared once (its id, and the ids of delayed jobs, are fixed before the first
// send), so sending it again after a lost reply returns the same ids and adds nothing.
import { InputError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { writePerJob, writeShared } from "./enqueue-args.ts";
import { formatRefusal } from "./format.ts";
import {
  callerIdProblem,
  DATA_FORMAT,
  type Level,
  levelKeys,
  type QueueKeys,
  U64_MAX,
} from "./keys.ts";
import { scriptCommand, scripts, sendScript } from "./lua.ts";

export interface EnqueueJob {
  /** A caller id (idempotency key), or none: the job's id is then its entry id. */
  id?: string;
  task: string;
  /** The payload as JSON text. */
  payload: string;
  maxAttempts: number;
  /** Due this long after Redis' TIME (0 or absent: now). */
  delayMs?: number;
  /**
   * Due at this ms on Redis' clock, instead of a delay: the script puts it in the delayed set
   * at that score (one in the past is promoted at once). Sent as `@<ms>` in the delay field.
   */
  runAt?: number;
  /** Per-job options JSON (`o`), reserved. */
  options?: string;
  /** The job's limit key (`k`: JobSpec.limitKey), checked by prepareJob. */
  limitKey?: string;
  /** The job's priority level (absent: normal). */
  level?: Level;
}

export interface EnqueueBatch {
  /** Names the batch's receipt: the same id, the same reply. */
  batchId: string;
  jobs: readonly PreparedJob[];
  /** The level every job of the batch is at (lib/queue/route.ts splits a batch by level). */
  level?: Level;
}

export interface PreparedJob {
  /** '' = auto: the entry id. */
  id: string;
  task: string;
  payload: string;
  /** Its max attempts, delay (or `@<due ms>`) and options ('' = none), as sent. */
  maxAttempts: string;
  when: string;
  options: string;
  /** The job's limit key, '' for none: sent only when a job of its batch has one. */
  limitKey: string;
  delayed: boolean;
  level: Level;
}

export interface Enqueued {
  /** The caller's id, the made id of a delayed job, or the auto id: entry id + shard suffix. */
  id: string;
  /** The job's stream entry, null for a delayed job (none yet) or one that existed. */
  entryId: string | null;
  /** false: a job with this caller id exists, left as it is. */
  created: boolean;
}

/** A batch's reply: its jobs, and the events stream's cursor read in the same call. */
export interface EnqueueReply {
  jobs: Enqueued[];
  /**
   * The events stream's last id before the batch's jobs existed: every event of theirs comes
   * after it (lib/queue/wait.ts starts a wait there). null when no job was created, or unknown.
   */
  eventsCursor: string | null;
  /** The batch's receipt answered: it was sent before (same batch id), nothing was added now. */
  replayed?: boolean;
}

/** How long a batch's reply is kept for a re-send: longer than any producer retries one. */
export const RECEIPT_TTL_MS = 60_000;

/** Checks the jobs and fixes the batch's id and the ids of delayed jobs without one. */
export function prepareBatch(
  jobs: readonly EnqueueJob[],
  batchId = Bun.randomUUIDv7(),
  /** A scheduler's batch: its job ids may have the reserved prefix (callerIdProblem). */
  scheduler = false,
): EnqueueBatch {
  return {
    batchId,
    jobs: jobs.map((j) => {
      if (j.id !== undefined) {
        const problem = callerIdProblem(j.id, scheduler);
        if (problem) throw new InputError(problem);
      }
      if (!j.task) throw new InputError("a job needs a task name");
      const delay = Math.max(0, Math.round(j.delayMs ?? 0));
      const delayed = delay > 0 || j.runAt !== undefined;
      // A delayed job has no entry yet whose id it could take: it is kept under a made id. So is
      // a high or low job: auto ids are normal's (its entry ids), so no entry id of a level's
      // stream is ever taken for a job of another level.
      const level = j.level ?? "normal";
      const id = j.id ?? (delayed || level !== "normal" ? Bun.randomUUIDv7() : "");
      const when = j.runAt === undefined ? String(delay) : `@${Math.max(0, Math.round(j.runAt))}`;
      return {
        id,
        task: j.task,
        payload: j.payload,
        maxAttempts: String(j.maxAttempts),
        when,
        options: j.options ?? "",
        limitKey: j.limitKey ?? "",
        delayed,
        level,
      };
    }),
  };
}

/** Sends a prepared batch; one script call. */
export async function enqueueJobs(
  client: Redis,
  keys: QueueKeys,
  batch: EnqueueBatch,
  receiptTtlMs = RECEIPT_TTL_MS,
): Promise<Enqueued[]> {
  return (await enqueueBatch(client, keys, batch, receiptTtlMs)).jobs;
}

/** enqueueJobs, with the events stream's cursor of the reply. */
export async function enqueueBatch(
  client: Redis,
  keys: QueueKeys,
  batch: EnqueueBatch,
  receiptTtlMs = RECEIPT_TTL_MS,
  {
    shared = sharesFields(batch.jobs),
    create = true,
  }: {
    /** The shared layout (ARGV[5] 3); tests pass false to compare it with the per-job one. */
    shared?: boolean;
    /**
     * Whether a shard with no meta may be made (its format written): false from a producer of
     * several shards that has not just read the queue's layout, which enqueue.lua then refuses
     * (isLayoutRefusal): the queue may have been emptied and made again with other shards.
     */
    create?: boolean;
  } = {},
): Promise<EnqueueReply> {
  const level = batch.level ?? "normal";
  const at = levelKeys(keys, level);
  const receipt = keys.receipt(batch.batchId);
  const keyNames = [at.stream, at.delayed, keys.stats, receipt, keys.meta, keys.events];
  const { jobs } = batch;
  // The fields per job, then the jobs' arguments: a limit key's field only when one has a key;
  // jobs alike but for id, payload and key (every bulk enqueue's) send the rest once, and no id
  // when none has one (auto ids).
  const ids = !shared || jobs.some((j) => j.id !== "");
  const fields = shared ? (ids ? 3 : 2) : jobs.some((j) => j.limitKey !== "") ? 7 : 6;
  const argc = 5 + (shared ? 4 : 0) + fields * jobs.length;
  const { command, at: from } = scriptCommand(scripts.enqueue, keyNames, argc);
  let i = from;
  command[i++] = keys.recordPrefix;
  command[i++] = String(receiptTtlMs);
  // The count of the shard's layout (N > 1): a meta of another is a shard of another layout.
  const of = keys.shards > 1 ? `/${keys.shards}` : "";
  command[i++] = `${DATA_FORMAT}${create ? "" : "?"}${of}`;
  command[i++] = level === "normal" ? "" : level;
  command[i++] = String(fields);
  // Written in place, copied once: node-redis encodes each argument on its own (a length, a
  // string, a copy), so a batch of 500 jobs in 1,009 arguments, not 3,505, costs it far less.
  if (shared) writeShared(command, i, jobs, ids);
  else writePerJob(command, i, jobs, fields);
  const reply = await sendScript<string>(client, scripts.enqueue, command).catch((err) => {
    throw formatRefusal(keys, err);
  });
  return readReply(String(reply), batch.jobs, keys.idSuffix);
}

/** Whether the jobs (two or more) share their task, max attempts, delay and options. */
export function sharesFields(jobs: readonly PreparedJob[]): boolean {
  const first = jobs[0];
  if (!first || jobs.length < 2) return false;
  for (const j of jobs) {
    if (j.task !== first.task || j.maxAttempts !== first.maxAttempts) return false;
    if (j.when !== first.when || j.options !== first.options) return false;
  }
  return true;
}

/**
 * The id after `<ms>-<seq>` as enqueue.lua makes it (include/ids.lua id_next): exact past 2^53
 * (BigInt), a seq at its maximum moves on to the next ms.
 */
function nextEntryId(ms: bigint, seq: bigint): [bigint, bigint] {
  return seq < U64_MAX ? [ms, seq + 1n] : [ms + 1n, 0n];
}

/**
 * The id of the k-th entry (from 0) after `first` (matched by `m`), as enqueue.lua made them.
 * A sequence number that stays exact as a Number (every real one: it counts entries within one
 * ms) is counted as one; BigInt (which showed in a bulk enqueue's profile) only near 2^53.
 */
function entryIds(m: RegExpExecArray | null, first: string, n: number): (k: number) => string {
  const seq = m ? Number(m[2]) : Number.NaN;
  if (m && seq + n <= Number.MAX_SAFE_INTEGER) {
    const ms = `${m[1]}-`;
    return (k) => (k === 0 ? first : ms + (seq + k));
  }
  let [ms, big] = m ? [BigInt(m[1]!), BigInt(m[2]!)] : [0n, 0n];
  let at = 0;
  return (k) => {
    for (; at < k; at++) [ms, big] = nextEntryId(ms, big);
    return k === 0 ? first : `${ms}-${big}`;
  };
}

/**
 * The k-th created job with an entry has the k-th id after the first (nextEntryId). An auto id
 * is the entry id with the shard's suffix (`<entry id>:<s>` on a queue of several shards).
 */
function readReply(reply: string, jobs: readonly PreparedJob[], suffix: string): EnqueueReply {
  // "<first> <flags> <cursor>"; a receipt written by an earlier Courier has no cursor; a
  // receipt's reply (the batch was sent before) ends with `replay`.
  const words = reply.split(" ");
  const replayed = words.length > 2 && words[words.length - 1] === "replay";
  if (replayed) words.pop();
  const [first = "", flags = "", cursor = "-", ...rest] = words;
  if (rest.length > 0 || flags.length !== jobs.length) {
    throw new Error(`enqueue: unexpected reply ${JSON.stringify(reply.slice(0, 80))}`);
  }
  const m = /^(\d+)-(\d+)$/.exec(first);
  const entryId = entryIds(m, first, jobs.length);
  let k = 0;
  const enqueued = jobs.map((j, n) => {
    const created = flags[n] === "1";
    if (!created || j.delayed) return { id: j.id, entryId: null, created };
    const id = entryId(k++);
    return { id: j.id || id + suffix, entryId: id, created };
  });
  return { jobs: enqueued, eventsCursor: /^\d+-\d+$/.test(cursor) ? cursor : null, replayed };
}
