// The operator's actions on dead letters (`dead` and the dashboard), over every shard of a
// queue: list them, find one, requeue, delete or purge them. Each id is acted on in the one
// shard it lives in; each shard's letters are aged on that shard's clock. The letters' own
// reads and writes are in letters.ts; this file only spreads them over the shards. One id
// whose keys Redis refuses (a key of another type, a corrupt letter) is settled on its own,
// as `unreadable`: the call's other ids are still acted on.

import { ErrorReply } from "@redis/client";
import { describeRefusal } from "../cli/refusal.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { causes, describeError, isOomError } from "../errors.ts";
import { isNoPerm, isTransient } from "../redis/cause.ts";
import { listDeadShards } from "./dead-pages.ts";
import {
  type DeadLetter,
  type DeadPage,
  discardLetters,
  findDead,
  purgeLetters,
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

export type RequeueResult = { id: string; verdict: RequeueVerdict } | UnreadableId;
export type DeleteResult = { id: string; verdict: "deleted" | "missing" } | UnreadableId;

/** What a requeue needs to know: the attempts a job gets when its letter does not say. */
export interface RequeueOptions {
  maxAttempts: number;
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
      const pairs = await letters(s, keys, ids);
      for (const d of await requeueLetters(s.client, keys, pairs, o)) done.set(d.id, d);
    }),
  );
  return jobIds.map((id) => done.get(id) ?? { id, verdict: "missing" });
}

/** Requeues every job dead now, shard by shard; returns how many. */
export async function requeueAllDead(s: QueueShards, o: RequeueOptions): Promise<number> {
  const counts = await s.each((keys) => requeueAllLetters(s.client, keys, o));
  return counts.reduce((a, b) => a + b, 0);
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
      const pairs = await letters(s, keys, some);
      for (const id of await discardLetters(s.client, keys, pairs))
        done.set(id, { id, verdict: "deleted" });
    }),
  );
  return ids.map((id) => done.get(id) ?? { id, verdict: "missing" });
}

/** Deletes dead letters older than `olderThanMs` (all when not given); returns how many. */
export async function purgeDead(s: QueueShards, olderThanMs?: number): Promise<number> {
  // Letters' ids are Redis' times: their age is measured on their shard's clock.
  const counts = await s.each((keys, now) => purgeLetters(s.client, keys, now, olderThanMs));
  return counts.reduce((a, b) => a + b, 0);
}

/** [letter entry id, job id] of the ids that have a letter in this shard. */
async function letters(
  s: QueueShards,
  keys: QueueKeys,
  ids: readonly string[],
): Promise<[string, string][]> {
  const found = await Promise.all(ids.map((id) => findDead(s.client, keys, id)));
  return found.flatMap((l, i) => (l ? [[l.entryId, ids[i]!] as [string, string]] : []));
}

/**
 * Runs `fn` for `ids` (one shard's); when Redis refuses it for their data (a key of the
 * shard of another type), those of `ids` not settled yet are unreadable, and the other shards'
 * ids go on. Within a shard the letters are read from one stream and written by one script:
 * what fails there fails for each of its ids alike.
 */
async function settle(
  ids: readonly string[],
  done: Map<string, { id: string } | UnreadableId>,
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const reason = refusalOf(err);
    if (reason === null) throw err;
    for (const id of ids) if (!done.has(id)) done.set(id, { id, verdict: "unreadable", reason });
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
