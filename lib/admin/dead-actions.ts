// The operator's actions on dead letters (`dead` and the dashboard), over every shard of a
// queue: list them, find one, requeue, delete or purge them. Each id is acted on in the one
// shard it lives in; each shard's letters are aged on that shard's clock. The letters' own
// reads and writes are in letters.ts; this file only spreads them over the shards. One id
// whose keys Redis refuses (a key of another type, a corrupt letter) is settled on its own,
// as `unreadable`: the call's other ids are still acted on. A call that fails for another
// reason (a full Redis, a lost connection) leaves the ids it and the later calls had `failed`,
// and those earlier calls acted on keep their answers (settle).

import { ErrorReply } from "@redis/client";
import { describeRefusal } from "../cli/refusal.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { cannotBeReadReply } from "../engine/unreadable-text.ts";
import { causes, describeError, isOomError } from "../errors.ts";
import { isNoPerm, isTransient } from "../redis/cause.ts";
import { findDead, namedLetter, scanDead } from "./dead-find.ts";
import { listDeadShards } from "./dead-pages.ts";
import { letterBytes, PAGE_FIRST, runsByBytes } from "./letter-runs.ts";
import {
  type DeadLetter,
  type DeadPage,
  discardLetters,
  purgeLetters,
  type RawEntry,
  type RequeueAllTally,
  type RequeueReply,
  type RequeueVerdict,
  requeueAllLetters,
  requeueLetters,
} from "./letters.ts";
import type { QueueShards } from "./queue-shards.ts";

/** An id not acted on: Redis refused a read or write of its keys; `reason` says what, in one line. */
export interface UnreadableId {
  id: string;
  verdict: "unreadable";
  reason: string;
}

/**
 * An id not acted on because its shard's call failed for a reason not its own (a full Redis, a
 * lost connection): `error` is that failure. Given only when another id has an answer; when
 * none has, the failure is thrown (nothing was done).
 */
export interface FailedId {
  id: string;
  verdict: "failed";
  error: unknown;
}

export type RequeueResult = { id: string; verdict: RequeueVerdict } | UnreadableId | FailedId;
export type DeleteResult = { id: string; verdict: "deleted" | "missing" } | UnreadableId | FailedId;

/** What a requeue needs to know: the attempts a job gets when its letter does not say. */
export interface RequeueOptions {
  maxAttempts: number;
  /** Most bytes of letters one requeue call copies (one heavier letter alone); MOVE_BYTES. */
  bytes?: number;
}

/** A page of dead letters, newest first over every shard (dead-pages.ts: the cursor). */
export async function deadLetters(
  s: QueueShards,
  { cursor = null as string | null, limit = 20 } = {},
): Promise<DeadPage> {
  const shards = await s.shards();
  return listDeadShards(s.client, shards, cursor, Math.max(1, Math.min(limit, 500)));
}

/** A job's dead letter, from the one shard its id lives in. */
export async function deadLetter(s: QueueShards, jobId: string): Promise<DeadLetter | null> {
  const keys = await s.shardOf(jobId);
  return keys ? findDead(s.client, keys, jobId) : null;
}

/**
 * Requeues dead jobs by id, each in the one shard its id lives in: each runs again with a
 * fresh attempt count, its history kept. An id given twice is requeued, and answered, once:
 * its second pass would find it requeued (`active`) and hide that the first one worked.
 * requeue.lua copies each letter into the stream, so a shard's letters go in calls of at most
 * `o.bytes` of them, in the order given (lib/admin/letter-runs.ts, as requeue --all).
 */
export async function requeueDead(
  s: QueueShards,
  given: readonly string[],
  o: RequeueOptions,
): Promise<RequeueResult[]> {
  const jobIds = [...new Set(given)];
  const done = new Map<string, RequeueResult>();
  await s.byShard(jobIds, (keys, ids) =>
    settle(ids, done, async () => {
      const found = await letters(s, keys, ids, done);
      for (const run of runsByBytes(found, (l) => l.bytes, o.bytes)) {
        const pairs = run.map((l) => l.pair);
        for (const d of await requeueLetters(s.client, keys, pairs, o)) done.set(d.id, told(d));
      }
    }),
  );
  return answers(jobIds, done);
}

/** A letter's answer, an unreadable one's reason in the CLI's words. */
function told(d: RequeueReply): RequeueResult {
  return d.verdict === "unreadable" ? unreadable(d.id, d.reason) : d;
}

/**
 * An id whose job's key holds another type: the script answered it (nothing of it written), so
 * it is said as `result` says it (unreadable-text.ts), not as a refused call.
 */
function unreadable(id: string, why: string): UnreadableId {
  return { id, verdict: "unreadable", reason: cannotBeReadReply(why) ?? why };
}

/**
 * Each id's answer, in the order given. When a call failed and no id has an answer from Redis
 * (each failed, or has no letter), nothing was done: the failure is thrown, as any command's.
 */
function answers<T extends { id: string; verdict: string }>(
  ids: readonly string[],
  done: Map<string, T | FailedId>,
): (T | FailedId)[] {
  const out = ids.map((id) => done.get(id) ?? ({ id, verdict: "missing" } as T));
  const failed = out.find((d): d is FailedId => d.verdict === "failed");
  const idle = out.every((d) => d.verdict === "failed" || d.verdict === "missing");
  if (failed && idle) throw failed.error;
  return out;
}

/**
 * Requeues every job dead now, shard by shard: how many, and how many were left unreadable (the
 * first named, its reason in the CLI's words). A call that fails after letters were requeued
 * (here or on another shard) stops its shard: the counts say what was done, `error` why the
 * rest was not; when nothing was done, it is thrown (as answers() does for ids).
 */
export async function requeueAllDead(s: QueueShards, o: RequeueOptions): Promise<RequeueAllTally> {
  const each = await s.each(async (keys) => {
    const t: RequeueAllTally = { requeued: 0, unreadable: 0, first: null };
    return requeueAllLetters(s.client, keys, o, t).catch((error: unknown) => ({ ...t, error }));
  });
  const first = each.find((t) => t.first !== null)?.first ?? null;
  const tally: RequeueAllTally = {
    requeued: each.reduce((a, t) => a + t.requeued, 0),
    unreadable: each.reduce((a, t) => a + t.unreadable, 0),
    first: first && unreadable(first.id, first.reason),
  };
  const failed = each.find((t) => t.error !== undefined);
  if (failed === undefined) return tally;
  if (tally.requeued + tally.unreadable === 0) throw failed.error;
  return { ...tally, error: failed.error };
}

/** Deletes dead jobs (letter, failed outcome and record); what became of each id. */
export async function deleteDead(
  s: QueueShards,
  given: readonly string[],
): Promise<DeleteResult[]> {
  const ids = [...new Set(given)]; // an id given twice is deleted, and answered, once
  const done = new Map<string, DeleteResult>();
  await s.byShard(ids, (keys, some) =>
    settle(some, done, async () => {
      const pairs = (await letters(s, keys, some, done)).map((l) => l.pair);
      for (const d of await discardLetters(s.client, keys, pairs)) {
        if (d.unreadable !== undefined) done.set(d.id, unreadable(d.id, d.unreadable));
        else if (d.deleted) done.set(d.id, { id: d.id, verdict: "deleted" });
      }
    }),
  );
  return answers(ids, done);
}

/** Deletes dead letters older than `olderThanMs` (all when not given); returns how many. */
export async function purgeDead(s: QueueShards, olderThanMs?: number): Promise<number> {
  // Letters' ids are Redis' times: their age is measured on their shard's clock.
  const counts = await s.each((keys, now) => purgeLetters(s.client, keys, now, olderThanMs));
  return counts.reduce((a, b) => a + b, 0);
}

/** A letter found for an id: [letter entry id, job id], and what it weighs (letterBytes). */
interface Found {
  pair: [string, string];
  bytes: number;
}

/**
 * The letters of the ids that have one in this shard, in the order given, only their ids and
 * weights kept (a letter holds its job's payload): those their failed value names read
 * PAGE_FIRST at a time, then one scan of the dead stream for all the others (scanDead: 16
 * unknown ids scanned it 16 times at once, R106). An id with none is answered `missing` in
 * `done` now: a later call's failure does not make it `failed`.
 */
async function letters(
  s: QueueShards,
  keys: QueueKeys,
  ids: readonly string[],
  done: Map<string, { id: string; verdict: string }>,
) {
  const found = (e: RawEntry, id: string): Found => ({
    pair: [e[0], id],
    bytes: letterBytes(e[1]),
  });
  const named = new Map<string, Found>();
  for (let i = 0; i < ids.length; i += PAGE_FIRST) {
    const some = ids.slice(i, i + PAGE_FIRST);
    const read = await Promise.all(some.map((id) => namedLetter(s.client, keys, id)));
    for (const [j, e] of read.entries()) if (e) named.set(some[j]!, found(e, some[j]!));
  }
  const rest = ids.filter((id) => !named.has(id));
  const scanned = await scanDead(s.client, keys, rest, found);
  const out: Found[] = [];
  for (const id of ids) {
    const f = named.get(id) ?? scanned.get(id);
    if (f) out.push(f);
    else done.set(id, { id, verdict: "missing" });
  }
  return out;
}

/**
 * Runs `fn` for `ids` (one shard's); when a read or call fails, those of `ids` not answered yet
 * are unreadable (Redis refused it for their data: a key of the shard of another type) or
 * failed (anything else: a full Redis, a lost connection), and the other shards' ids go on. The
 * ids earlier calls answered keep their answers: those calls were done. Within a shard the
 * letters are read from one stream and written by one script: what fails there fails for each
 * of its ids alike.
 */
async function settle(
  ids: readonly string[],
  done: Map<string, { id: string } | UnreadableId | FailedId>,
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const reason = refusalOf(err);
    for (const id of ids) {
      if (done.has(id)) continue;
      done.set(
        id,
        reason === null
          ? { id, verdict: "failed", error: err }
          : { id, verdict: "unreadable", reason },
      );
    }
  }
}

/**
 * What Redis refused, in one line, when `err` is a reply the data caused (WRONGTYPE, a bad
 * id…); null for anything else (a lost connection, NOPERM, a full Redis): the whole call's.
 */
function refusalOf(err: unknown): string | null {
  const reply = causes(err).find((e) => e instanceof ErrorReply);
  if (reply === undefined || isTransient(reply) || isOomError(reply)) return null;
  if (isNoPerm(reply)) return null;
  return describeRefusal(reply) ?? describeError(reply);
}
