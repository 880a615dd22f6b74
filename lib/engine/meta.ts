// The meta script (lib/engine/lua/meta.lua): stamps a fresh queue with a data format and says
// which one the queue has. This file owns its KEYS and ARGV order.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * Writes `format` on a queue that has none (with its layout's count, a shard of several);
 * returns the queue's format (null: none).
 */
export async function stampMeta(
  client: Redis,
  keys: QueueKeys,
  format: number,
): Promise<string | null> {
  // A shard of N > 1 records N with its format (keys.ts, QueueKeys.shards).
  const args = keys.shards > 1 ? [format, keys.shards] : [format];
  const reply = await runScript<string | null>(client, scripts.meta, [keys.meta], args);
  return reply === null ? null : String(reply);
}
