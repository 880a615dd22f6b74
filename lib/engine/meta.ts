// The meta script (lib/engine/lua/meta.lua): stamps a fresh queue with a data format and says
// which one the queue has. This file owns its KEYS and ARGV order.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Writes `format` on a queue that has none; returns the queue's format (null: none). */
export async function stampMeta(
  client: Redis,
  keys: QueueKeys,
  format: number,
): Promise<string | null> {
  const reply = await runScript<string | null>(client, scripts.meta, [keys.meta], [format]);
  return reply === null ? null : String(reply);
}
