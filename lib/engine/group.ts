// The group script (lib/engine/lua/group.lua): a worker joining the queue. This file owns its
// KEYS and ARGV order.
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Creates the consumer group (and the stream) if missing (group.lua); true if created. */
export async function createGroup(client: Redis, keys: QueueKeys): Promise<boolean> {
  return Number(await runScript(client, scripts.group, [keys.stream], [GROUP])) === 1;
}
