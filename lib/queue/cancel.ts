// Canceling jobs on a queue of any number of shards (docs/internals.md, "Cancel"): each id on
// the one shard it lives in (shardOf), one cancel.lua call per shard, all at once. Shared by
// Queue.cancel and Admin.cancel (the CLI and the dashboard).
import { type CancelOptions, type CancelVerdict, cancelJobs } from "../engine/cancel.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { isValidJobId } from "../engine/record.ts";
import { ofShard, STATUS_CHUNK } from "../engine/status.ts";
import type { Redis } from "../redis/connect.ts";
import { idsByShard } from "./shards.ts";

export type { CancelVerdict };

/**
 * Cancels jobs by id, each once (an id given twice is answered once), in the order first given.
 * An id that names no job of the queue (not a job id, or an auto id of no shard) is unknown
 * without a call.
 */
export async function cancelOnShards(
  client: Redis,
  keys: readonly QueueKeys[],
  given: readonly string[],
  o: CancelOptions,
): Promise<CancelVerdict[]> {
  const ids = [...new Set(given)];
  const done = new Map<string, CancelVerdict>();
  const calls = [...idsByShard(ids, keys.length)].map(async ([shard, at]) => {
    const k = keys[shard];
    if (!k) return;
    const sent = at.map((i) => ids[i]!).filter((id) => isValidJobId(id) && ofShard(id, k));
    // In calls of STATUS_CHUNK ids, one after the other: a script holds all of Redis while it runs.
    for (let i = 0; i < sent.length; i += STATUS_CHUNK) {
      const part = sent.slice(i, i + STATUS_CHUNK);
      for (const v of await cancelJobs(client, k, o, part)) done.set(v.id, v);
    }
  });
  await Promise.all(calls);
  return ids.map((id) => done.get(id) ?? { id, verdict: "unknown" });
}
