// A worker's tasks, said every heartbeat (docs/internals.md, "3. Start"): owns serve.lua's KEYS/ARGV.
import { MOVE_BYTES } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface Served {
  /** Parked jobs moved back to the stream. */
  moved: number;
  /** More may be parked: a set gave `most` jobs, or the bytes bound stopped the call; call again. */
  more: boolean;
  /** Tasks whose parked key holds another type: skipped (still marked alive); worth a log line. */
  corrupt?: string[];
}

/**
 * Marks `tasks` alive for `aliveMs` past Redis' TIME and moves their parked jobs back, up to
 * `most` per task, and until the records read reach `bytes` (they hold payloads: 1,000 of
 * 256 KB would hold Redis half a second, as promote.lua's would).
 */
export async function serveTasks(
  client: Redis,
  k: QueueKeys,
  tasks: readonly string[],
  aliveMs: number,
  most = 1000,
  bytes = MOVE_BYTES,
): Promise<Served> {
  const args = [k.parkedPrefix, k.recordPrefix, Math.round(aliveMs), most, bytes, k.resultPrefix];
  args.push(...tasks);
  const keys = [k.tasks, k.stream];
  type Reply = [number, string[], number];
  const [moved, corrupt, more] = await runScript<Reply>(client, scripts.serve, keys, args);
  const served = { moved, more: more === 1 };
  return corrupt.length > 0 ? { ...served, corrupt } : served;
}
