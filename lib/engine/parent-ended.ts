// Children told that a parent ended (docs/internals.md, "Dependencies and batches"): the typed
// owner of parent-ended.lua's KEYS/ARGV and reply.
import type { Redis } from "../redis/connect.ts";
import type { TellLetter } from "./ended.ts";
import { levelKeys, MINUTES_KEPT, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface ParentEnded {
  child: string;
  parent: string;
  letter: TellLetter;
}

export interface TellOptions {
  failureTtlS: number;
  eventsMaxLen: number;
}

/**
 * Tells children of this shard (all of `items`) that a parent ended: each child released to
 * its stream when its last parent ended, or failed when a parent did not finish (unless it
 * runs anyway). Idempotent. Returns how many children were released and failed.
 */
export async function tellChildren(
  client: Redis,
  k: QueueKeys,
  o: TellOptions,
  items: readonly ParentEnded[],
): Promise<{ released: number; failed: number }> {
  if (items.length === 0) return { released: 0, failed: 0 };
  const [high, low] = [levelKeys(k, "high"), levelKeys(k, "low")];
  const keys = [k.stream, high.stream, low.stream, k.children, k.events, k.stats, k.minutes];
  keys.push(k.hasDependents, k.endedParents, k.released, k.lettingGo);
  const args: (string | number)[] = [k.resultPrefix, k.recordPrefix, k.waitsPrefix];
  args.push(o.failureTtlS, o.eventsMaxLen, MINUTES_KEPT, k.parentsPrefix);
  for (const it of items) args.push(it.child, it.parent, it.letter);
  const [released, failed] = await runScript<[number, number]>(
    client,
    scripts.parentEnded,
    keys,
    args,
  );
  return { released: Number(released), failed: Number(failed) };
}
