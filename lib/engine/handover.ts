// The handover script (lib/engine/lua/handover.lua): a restarted worker's predecessor consumer,
// `<name>~gone`, deleted from the group once nothing is pending on it. Owns its KEYS and ARGV.
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Deletes consumer `ghost` when no entry is pending on it; whether it is gone from the group. */
export async function dropEmptyHandover(
  client: Redis,
  keys: QueueKeys,
  ghost: string,
): Promise<boolean> {
  return (await runScript<number>(client, scripts.handover, [keys.stream], [GROUP, ghost])) === 1;
}
