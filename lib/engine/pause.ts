// A queue's pause (`queue.ts pause|resume NAME`): the field `paused` = `1` of its layout key
// `{queue}:meta` (layoutKey), absent while the queue runs. One key for every shard, so one
// read tells a worker of any shard; stored in Redis, so it holds across worker restarts.
// Workers read it every pauseCheckMs (lib/worker/pause.ts; docs/internals.md, "Pause").
import type { Redis } from "../redis/connect.ts";
import { layoutKey } from "./keys.ts";

/** The field of the layout key that says the queue is paused. */
export const PAUSED_FIELD = "paused";

/** Whether the queue is paused (one HGET). */
export async function readPaused(client: Redis, prefix: string, queue: string): Promise<boolean> {
  const value = await client.sendCommand<string | null>([
    "HGET",
    layoutKey(prefix, queue),
    PAUSED_FIELD,
  ]);
  return value === "1";
}

/**
 * Pauses (`paused` true) or resumes the queue; true when that changed something, false when it
 * was so already (a second pause is no error). HSET answers 1 only for a field it added, HDEL
 * only for one it removed: the answer is the change, in the one call.
 */
export async function writePaused(
  client: Redis,
  prefix: string,
  queue: string,
  paused: boolean,
): Promise<boolean> {
  const key = layoutKey(prefix, queue);
  const command = paused ? ["HSET", key, PAUSED_FIELD, "1"] : ["HDEL", key, PAUSED_FIELD];
  return Number(await client.sendCommand<number>(command)) > 0;
}
