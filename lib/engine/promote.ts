// Promotion of due jobs (docs/internals.md, "6. Fail and retry"): owns promote.lua's KEYS/ARGV and reply.
import { MOVE_BYTES } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** One call's work: the jobs moved, and whether more may be due (it stopped at a bound). */
export interface Promoted {
  moved: number;
  more: boolean;
}

/**
 * Moves jobs due by Redis' clock back to the stream, up to `most` jobs or once the records
 * read reach `bytes`; call again at once while `more`.
 */
export async function promoteSome(
  client: Redis,
  k: QueueKeys,
  most = 1000,
  bytes = MOVE_BYTES,
): Promise<Promoted> {
  const keys = [k.delayed, k.stream];
  const args = [k.recordPrefix, most, Math.max(1, bytes), k.resultPrefix]; // bytes ≥ 1: one a call
  const [moved, more] = await runScript<[number, number]>(client, scripts.promote, keys, args);
  return { moved, more: more === 1 };
}

/** One call, as promoteSome: returns how many moved. */
export async function promoteDue(client: Redis, k: QueueKeys, most = 1000): Promise<number> {
  return (await promoteSome(client, k, most)).moved;
}
