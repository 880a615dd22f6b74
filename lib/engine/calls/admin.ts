// The operator's v1 script: gone workers pruned (dead letters are requeued and discarded by
// engine v2: lib/engine/v2/requeue.ts). The function owns its KEYS and ARGV order.
import type { Redis } from "../../redis/connect.ts";
import { GROUP, type QueueKeys } from "../keys.ts";
import { runScript, scripts } from "../lua.ts";

/** Forgets workers whose last beat is at or before `cutoffMs` (prune-2.lua); the names pruned. */
export function pruneGone(
  client: Redis,
  keys: QueueKeys,
  cutoffMs: number,
  names: readonly string[],
): Promise<string[]> {
  const args = [keys.workerPrefix, GROUP, cutoffMs, ...names];
  return runScript<string[]>(client, scripts.prune, [keys.workers, keys.stream], args);
}
