// The heartbeat script (lib/engine/lua/heartbeat.lua): a worker staying visible. This file owns
// its KEYS and ARGV order.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * A heartbeat (heartbeat.lua): the worker's score and its hash of `fields`, kept `ttlMs`;
 * the beat's time (score, `seen_at`) is Redis'. False, with nothing written, when another
 * start holds the name (its hash names another `start` token: name.lua).
 */
export async function beat(
  client: Redis,
  keys: QueueKeys,
  b: { name: string; start: string; ttlMs: number; fields: Record<string, string | number> },
): Promise<boolean> {
  const args = [b.name, b.ttlMs, b.start, ...Object.entries(b.fields).flat()];
  const keyList = [keys.workers, keys.worker(b.name)];
  return (await runScript<number>(client, scripts.heartbeat, keyList, args)) === 1;
}
