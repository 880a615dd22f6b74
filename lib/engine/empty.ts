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

/** A removed job that had a limit key (it may have waited for a running slot of it). */
export interface EmptiedKeyed {
  jobId: string;
  limitKey: string;
}

/** Jobs one call removes at most: a call holds Redis this long, and its reply is this big. */
export const EMPTY_CHUNK = 1_000;

/**
 * One call: removes up to `most` waiting, delayed and parked jobs of the shard; one that other
 * jobs wait for ends canceled, its outcome kept `failureTtlS` (its children then fail or run).
 * `keyed`: the removed jobs that had a limit key.
 */
export async function emptyChunk(
  client: Redis,
  k: QueueKeys,
  failureTtlS: number,
  most = EMPTY_CHUNK,
): Promise<Emptied & { keyed: EmptiedKeyed[] }> {
  const keys = [k.stream, k.delayed, k.tasks, k.stats, k.hasDependents, k.endedParents];
  const argv = [k.recordPrefix, k.resultPrefix, k.parkedPrefix, GROUP, k.idSuffix, most];
  argv.push(failureTtlS);
  const reply = await runScript<[number, number, number, string[]]>(
    client,
    scripts.empty,
    keys,
    argv,
  );
  const [waiting, delayed, parked, flat = []] = reply;
  const keyed: EmptiedKeyed[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    keyed.push({ jobId: String(flat[i]), limitKey: String(flat[i + 1]) });
  }
  return { waiting: Number(waiting), delayed: Number(delayed), parked: Number(parked), keyed };
}

/**
 * Empties the shard, chunk by chunk, until a call removes fewer than `most`. `onKeyed` is given
 * each chunk's removed jobs that had a limit key, before the next chunk (one chunk in memory).
 */
export async function emptyShard(
  client: Redis,
  k: QueueKeys,
  failureTtlS: number,
  most = EMPTY_CHUNK,
  onKeyed: (keyed: EmptiedKeyed[]) => Promise<void> = async () => {},
): Promise<Emptied> {
  const total: Emptied = { waiting: 0, delayed: 0, parked: 0 };
  for (;;) {
    const got = await emptyChunk(client, k, failureTtlS, most);
    total.waiting += got.waiting;
    total.delayed += got.delayed;
    total.parked += got.parked;
    if (got.keyed.length > 0) await onKeyed(got.keyed);
    if (got.waiting + got.delayed + got.parked < most) return total;
  }
}
