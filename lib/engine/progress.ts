// A running job's progress (docs/internals.md, "Progress"): owns progress.lua's KEYS/ARGV and reply.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * Writes job `id`'s progress (`json`, checked by lib/worker/context.ts) and its event on the
 * job's shard `k`; false when the job had already ended (nothing written).
 */
export async function writeProgress(
  client: Redis,
  k: QueueKeys,
  id: string,
  json: string,
  ttlS: number,
  eventsMaxLen: number,
): Promise<boolean> {
  const keys = [k.progress(id), k.result(id), k.events];
  const args = [id, json, ttlS, eventsMaxLen];
  return (await runScript<number>(client, scripts.progress, keys, args)) === 1;
}
