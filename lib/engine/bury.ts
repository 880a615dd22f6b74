// Bury in v2 (docs/internals.md, "3. Start"): the typed owner of bury.lua's KEYS/ARGV and reply.
// Entries that fail the worker's check (parseEntry, entry.ts) are dead-lettered one by one.
import type { Redis } from "../redis/connect.ts";
import { GROUP, MINUTES_KEPT, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface Burial {
  entryId: string;
  /** The job id when known, else '' (the letter then names the entry's auto id: entry + idSuffix). */
  id: string;
  /** What is wrong: the letter says `corrupt record: <problem>`. */
  problem: string;
  /**
   * The attempt that ran, when one did (an outcome Redis refused); else the entry's `a` (the
   * attempts used before it) is what the letter and the failed value say.
   */
  attempt?: number;
}

export interface BuryOptions {
  consumer: string;
  /** 0 while Redis is full: the letter only (marked `record dropped`), no outcome kept. */
  failureTtlS: number;
  deadMaxLen: number;
  eventsMaxLen: number;
}

/**
 * Per entry: 1 buried, 0 not buried (not pending to this consumer: left alone; or its job has an
 * outcome already: acknowledged, no letter), -2 buried, r:<id> corrupt.
 */
export async function buryEntries(
  client: Redis,
  keys: QueueKeys,
  o: BuryOptions,
  burials: readonly Burial[],
): Promise<number[]> {
  const args: (string | number)[] = [
    keys.resultPrefix,
    keys.recordPrefix,
    GROUP,
    o.consumer,
    o.failureTtlS,
    o.deadMaxLen,
    o.eventsMaxLen,
    MINUTES_KEPT,
    keys.idSuffix, // an id-less letter names the entry's auto id, which names its shard
  ];
  for (const b of burials) args.push(b.entryId, b.id, b.problem, b.attempt ?? "");
  const reply = await runScript<number[]>(
    client,
    scripts.bury,
    [
      ...[keys.stream, keys.dead, keys.events, keys.stats, keys.minutes],
      ...[keys.hasDependents, keys.endedParents],
    ],
    args,
  );
  return reply.map(Number);
}
