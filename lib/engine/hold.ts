// A job held back by a rate limit, per shard (docs/internals.md, "Rate limits"): owns the KEYS,
// ARGV order and replies of hold.lua (the slot given away, no attempt spent) and wake.lua (a
// waiting job moved to its stream when a running slot of its key frees).
import type { Redis } from "../redis/connect.ts";
import { GROUP, levelKeys, limitWokenPrefix, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** held (in the delayed set till due), back (re-added now), done (had an outcome), gone. */
export type HoldVerdict = "held" | "back" | "done" | "gone";

/**
 * Gives the slots of `entries` (pending on `consumer`) away: each job waits in the delayed set
 * of `k`'s level until its due time (Redis' ms), spending no attempt.
 */
export async function holdEntries(
  client: Redis,
  k: QueueKeys,
  consumer: string,
  entries: readonly { entryId: string; dueMs: number }[],
): Promise<HoldVerdict[]> {
  const args: (string | number)[] = [k.recordPrefix, k.resultPrefix, GROUP, consumer];
  args.push(k.idSuffix, limitWokenPrefix(k));
  for (const e of entries) args.push(e.entryId, Math.ceil(e.dueMs));
  return await runScript<HoldVerdict[]>(client, scripts.hold, [k.stream, k.delayed], args);
}

/** Moves woken jobs of shard `k` (its normal keys) from their delayed set to their stream. */
export async function wakeJobs(
  client: Redis,
  k: QueueKeys,
  jobIds: readonly string[],
): Promise<number> {
  const [high, low] = [levelKeys(k, "high"), levelKeys(k, "low")];
  const keys = [k.delayed, high.delayed, low.delayed, k.stream, high.stream, low.stream];
  const args = [k.recordPrefix, limitWokenPrefix(k), ...jobIds];
  return Number(await runScript<number>(client, scripts.wake, keys, args));
}
