// Promotion of due jobs (docs/internals.md, "6. Fail and retry"): owns promote.lua's KEYS/ARGV and reply.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** Moves up to `most` jobs due by Redis' clock back to the stream; returns how many moved. */
export async function promoteDue(client: Redis, k: QueueKeys, most = 1000): Promise<number> {
  const keys = [k.delayed, k.stream];
  return await runScript<number>(client, scripts.promote, keys, [k.recordPrefix, most]);
}
