// Emptying a shard (`queue.ts empty NAME --all`, docs/internals.md, "Empty"): owns empty.lua's
// KEYS/ARGV and reply.

import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface Emptied {
  waiting: number;
  delayed: number;
  parked: number;
}

/** Jobs one call removes at most: a call holds Redis this long, and its reply is this big. */
export const EMPTY_CHUNK = 1_000;

/**
 * One call: removes up to `most` waiting, delayed and parked jobs of the shard; one that other
 * jobs wait for ends canceled, its outcome kept `failureTtlS` (its children then fail or run).
 */
export async function emptyChunk(
  client: Redis,
  k: QueueKeys,
  failureTtlS: number,
  most = EMPTY_CHUNK,
): Promise<Emptied> {
  const keys = [k.stream, k.delayed, k.tasks, k.stats, k.hasDependents, k.endedParents];
  const argv = [k.recordPrefix, k.resultPrefix, k.parkedPrefix, GROUP, k.idSuffix, most];
  argv.push(failureTtlS);
  const [waiting, delayed, parked] = await runScript<number[]>(client, scripts.empty, keys, argv);
  return { waiting: Number(waiting), delayed: Number(delayed), parked: Number(parked) };
}

/** Empties the shard, chunk by chunk, until a call removes fewer than `most`. */
export async function emptyShard(
  client: Redis,
  k: QueueKeys,
  failureTtlS: number,
  most = EMPTY_CHUNK,
): Promise<Emptied> {
  const total: Emptied = { waiting: 0, delayed: 0, parked: 0 };
  for (;;) {
    const got = await emptyChunk(client, k, failureTtlS, most);
    total.waiting += got.waiting;
    total.delayed += got.delayed;
    total.parked += got.parked;
    if (got.waiting + got.delayed + got.parked < most) return total;
  }
}
