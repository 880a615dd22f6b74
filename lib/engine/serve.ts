// A worker's tasks, said every heartbeat (docs/internals.md, "3. Start"): owns serve.lua's KEYS/ARGV.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface Served {
  /** Parked jobs moved back to the stream. */
  moved: number;
  /** Most jobs taken from one task's parked set: equal to `most` means call again. */
  fullest: number;
  /** Tasks whose parked key holds another type: skipped (still marked alive); worth a log line. */
  corrupt?: string[];
}

/** Marks `tasks` alive for `aliveMs` past Redis' TIME and moves their parked jobs back. */
export async function serveTasks(
  client: Redis,
  k: QueueKeys,
  tasks: readonly string[],
  aliveMs: number,
  most = 1000,
): Promise<Served> {
  const args = [k.parkedPrefix, k.recordPrefix, Math.round(aliveMs), most, ...tasks];
  const keys = [k.tasks, k.stream];
  const reply = await runScript<[number, number, string[]]>(client, scripts.serve, keys, args);
  const [moved, fullest, corrupt = []] = reply;
  return corrupt.length > 0 ? { moved, fullest, corrupt } : { moved, fullest };
}
