// A prefetched entry given back unstarted (docs/internals.md, "2. Read"): owns give-back.lua's
// KEYS/ARGV order and reply.
import { MOVE_BYTES } from "../config.ts";
import type { Redis } from "../redis/connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** back (re-added at the stream's end), done (the job had an outcome), gone (not ours). */
export type GiveBackVerdict = "back" | "done" | "gone";

/**
 * Gives `entries` (pending on `consumer`, never started) back to `k`'s stream as fresh entries,
 * spending no attempt and writing no run. One verdict per entry, in order; every one `gone`
 * when the worker's hash names another start than `start` (a later start took the name).
 * Calls of at most `bytes` of entries each (the entry that crosses it included): each call
 * answers the entries it read, and the next one sends the rest.
 */
export async function giveBackEntries(
  client: Redis,
  k: QueueKeys,
  consumer: string,
  entries: readonly string[],
  start = "",
  bytes = MOVE_BYTES,
): Promise<GiveBackVerdict[]> {
  // At least 1: a call then always answers its first entry, so the loop ends.
  const most = Math.max(1, bytes);
  const args = [k.recordPrefix, k.resultPrefix, GROUP, consumer, k.idSuffix, start, most];
  const keys = [k.stream, k.worker(consumer)];
  const verdicts: GiveBackVerdict[] = [];
  while (verdicts.length < entries.length) {
    const rest = entries.slice(verdicts.length);
    const call = [...args, ...rest];
    verdicts.push(...(await runScript<GiveBackVerdict[]>(client, scripts.giveBack, keys, call)));
  }
  return verdicts;
}
