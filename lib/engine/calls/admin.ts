// The operator's v1 script: gone workers pruned (dead letters are requeued and discarded by
// engine v2: lib/engine/v2/requeue.ts). The function owns its KEYS and ARGV order.
import type { Redis } from "../../redis/connect.ts";
import { GROUP, type QueueKeys } from "../keys.ts";
import { runScript, scripts } from "../lua.ts";

/**
 * Forgets those of `names` whose hash has expired (prune-2.lua: Redis' own expiry decides, not
 * a time a caller computed); the names pruned.
 */
export function pruneGone(
  client: Redis,
  keys: QueueKeys,
  names: readonly string[],
): Promise<string[]> {
  const args = [keys.workerPrefix, GROUP, ...names];
  return runScript<string[]>(client, scripts.prune, [keys.workers, keys.stream], args);
}
