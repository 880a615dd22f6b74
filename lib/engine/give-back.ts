// A prefetched entry given back unstarted (docs/internals.md, "2. Read"): owns give-back.lua's
// KEYS/ARGV order and reply.
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** back (re-added at the stream's end), done (the job had an outcome), gone (not ours). */
export type GiveBackVerdict = "back" | "done" | "gone";

/**
 * Gives `entries` (pending on `consumer`, never started) back to `k`'s stream as fresh entries,
 * spending no attempt and writing no run. One verdict per entry, in order; every one `gone`
 * when the worker's hash names another start than `start` (a later start took the name).
 */
export async function giveBackEntries(
  client: Redis,
  k: QueueKeys,
  consumer: string,
  entries: readonly string[],
  start = "",
): Promise<GiveBackVerdict[]> {
  const args = [k.recordPrefix, k.resultPrefix, GROUP, consumer, k.idSuffix, start, ...entries];
  const keys = [k.stream, k.worker(consumer)];
  return await runScript<GiveBackVerdict[]>(client, scripts.giveBack, keys, args);
}
