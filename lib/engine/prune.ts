// The prune script (lib/engine/lua/prune.lua): the operator forgetting gone workers. This file
// owns its KEYS and ARGV order.
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * Forgets those of `names` whose hash has expired (prune.lua: Redis' own expiry decides, not
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
