// The operator's actions on dead letters (`dead` and the dashboard), over every shard of a
// queue: list them, find one, requeue, delete or purge them. Each id is acted on in the one
// shard it lives in; each shard's letters are aged on that shard's clock. The letters' own
// reads and writes are in letters.ts; this file only spreads them over the shards.

import type { QueueKeys } from "../engine/keys.ts";
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
): Promise<{ id: string; verdict: RequeueVerdict }[]> {
  const jobIds = [...new Set(given)];
  const done = new Map<string, RequeueVerdict>();
  await s.byShard(jobIds, async (keys, ids) => {
    const pairs = await letters(s, keys, ids);
    for (const d of await requeueLetters(s.client, keys, pairs, o)) done.set(d.id, d.verdict);
  });
  return jobIds.map((id) => ({ id, verdict: done.get(id) ?? "missing" }));
}

/** Requeues every job dead now, shard by shard; returns how many. */
export async function requeueAllDead(s: QueueShards, o: RequeueOptions): Promise<number> {
  const counts = await s.each((keys) => requeueAllLetters(s.client, keys, o));
  return counts.reduce((a, b) => a + b, 0);
}

/** Deletes dead jobs (letter, failed outcome and record); returns the ids deleted. */
export async function deleteDead(s: QueueShards, given: readonly string[]): Promise<string[]> {
  const ids = [...new Set(given)]; // an id given twice is deleted, and answered, once
  const deleted = new Set<string>();
  await s.byShard(ids, async (keys, some) => {
    const pairs = await letters(s, keys, some);
    for (const id of await discardLetters(s.client, keys, pairs)) deleted.add(id);
  });
  return ids.filter((id) => deleted.has(id));
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
