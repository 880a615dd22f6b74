// The heartbeat script (lib/engine/lua/heartbeat.lua): a worker staying visible. This file owns
// its KEYS and ARGV order.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * A heartbeat (heartbeat.lua): the worker's score and its hash of `fields`, kept `ttlMs`;
 * the beat's time (score, `seen_at`) is Redis'.
 */
export async function beat(
  client: Redis,
  keys: QueueKeys,
  b: { name: string; ttlMs: number; fields: Record<string, string | number> },
): Promise<void> {
  const args = [b.name, b.ttlMs, ...Object.entries(b.fields).flat()];
  await runScript(client, scripts.heartbeat, [keys.workers, keys.worker(b.name)], args);
}
