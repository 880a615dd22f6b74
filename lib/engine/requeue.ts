// Dead letters requeued or discarded (docs/internals.md, "Dead letters: requeue, discard"): owns requeue.lua's and
// discard.lua's KEYS/ARGV order and replies.
import type { Redis } from "../redis/connect.ts";
import { levelKeys, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

export interface LetterRef {
  /** The dead letter's entry id. */
  letter: string;
  /** The job id it must carry, or null for whichever it carries. */
  id: string | null;
}

export type RequeueVerdict = "requeued" | "missing" | "active";

export async function requeueLetters(
  client: Redis,
  k: QueueKeys,
  letters: readonly LetterRef[],
  defaultMaxAttempts: number,
): Promise<{ id: string; verdict: RequeueVerdict }[]> {
  const args: (string | number)[] = [k.resultPrefix, k.recordPrefix, defaultMaxAttempts];
  for (const l of letters) args.push(l.letter, l.id ?? "");
  // The level streams (read only): a high or low job's fresh entry goes after the last id Redis
  // issued there (requeue.lua readd_after).
  const levels = [levelKeys(k, "high").stream, levelKeys(k, "low").stream];
  const keys = [k.dead, k.stream, k.stats, ...levels];
  const reply = await runScript<[string, RequeueVerdict][]>(client, scripts.requeue, keys, args);
  return reply.map(([id, verdict]) => ({ id, verdict }));
}

/** Deletes letters, and the failed value and record of the job each is about. */
export async function discardLetters(
  client: Redis,
  k: QueueKeys,
  letters: readonly LetterRef[],
): Promise<{ id: string; deleted: boolean }[]> {
  const args: string[] = [k.resultPrefix, k.recordPrefix];
  for (const l of letters) args.push(l.letter, l.id ?? "");
  const reply = await runScript<[string, number][]>(client, scripts.discard, [k.dead], args);
  return reply.map(([id, n]) => ({ id, deleted: n === 1 }));
}
