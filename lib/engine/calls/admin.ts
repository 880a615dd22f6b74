// The operator's scripts: dead letters requeued or discarded, gone workers pruned. Each
// function owns its script's KEYS and ARGV order and reads its reply.
import type { Redis } from "../../redis/connect.ts";
import { GROUP, type QueueKeys } from "../keys.ts";
import { runScript, scripts } from "../lua.ts";

/** A dead letter by entry id, and the job id it must carry ('' = whichever it carries). */
export type LetterRef = readonly [entryId: string, jobId: string];

export type RequeueVerdict = "requeued" | "missing" | "active";

/** Requeues letters, atomically per letter (requeue-3.lua); a verdict per letter, in order. */
export async function requeueDead(
  client: Redis,
  keys: QueueKeys,
  o: { maxAttempts: number },
  letters: readonly LetterRef[],
): Promise<{ id: string; verdict: RequeueVerdict }[]> {
  const args = [keys.jobPrefix, o.maxAttempts, ...letters.flat()];
  const sKeys = [keys.dead, keys.stream, keys.stats];
  const reply = await runScript<[string, string][]>(client, scripts.requeue, sKeys, args);
  return reply.map(([id, verdict]) => ({ id, verdict: verdict as RequeueVerdict }));
}

/**
 * Deletes letters, and each failed record they are about (discard-1.lua). Per letter: its job
 * id and whether it was deleted (false: no such letter, or one for another job).
 */
export async function discardDead(
  client: Redis,
  keys: QueueKeys,
  letters: readonly LetterRef[],
): Promise<{ id: string; deleted: boolean }[]> {
  const args = [keys.jobPrefix, ...letters.flat()];
  const reply = await runScript<[string, number][]>(client, scripts.discard, [keys.dead], args);
  return reply.map(([id, ok]) => ({ id, deleted: Number(ok) === 1 }));
}

/**
 * Forgets those of `names` whose hash has expired (prune-2.lua: Redis' own expiry decides, not
 * a time a caller computed); the names pruned.
 */
export function pruneGone(
  client: Redis,
  keys: QueueKeys,
  names: readonly string[],
): Promise<string[]> {
  const args = [keys.workerPrefix, GROUP, ...names];
  return runScript<string[]>(client, scripts.prune, [keys.workers, keys.stream], args);
}
