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

/**
 * What became of a letter: a verdict, or `unreadable` when its job's record or failed value is a
 * key of another type (`reason`: `courier: key … holds a …, not a …`; nothing of it written).
 */
export type RequeueReply =
  | { id: string; verdict: RequeueVerdict }
  | { id: string; verdict: "unreadable"; reason: string };

export async function requeueLetters(
  client: Redis,
  k: QueueKeys,
  letters: readonly LetterRef[],
  defaultMaxAttempts: number,
): Promise<RequeueReply[]> {
  const args: (string | number)[] = [k.resultPrefix, k.recordPrefix, defaultMaxAttempts];
  for (const l of letters) args.push(l.letter, l.id ?? "");
  // The level streams (read only): a high or low job's fresh entry goes after the last id Redis
  // issued there (requeue.lua readd_after).
  const levels = [levelKeys(k, "high").stream, levelKeys(k, "low").stream];
  const keys = [k.dead, k.stream, k.stats, ...levels];
  type Row = [string, RequeueVerdict] | [string, "unreadable", string];
  const reply = await runScript<Row[]>(client, scripts.requeue, keys, args);
  return reply.map((row) =>
    row[1] === "unreadable"
      ? { id: row[0], verdict: row[1], reason: row[2] }
      : { id: row[0], verdict: row[1] },
  );
}

/**
 * What became of a letter discarded: deleted or not (no such letter), or, with `unreadable`
 * (`courier: key … holds a …, not a …`), kept: its job's failed value or record is a key of
 * another type, not Courier's to delete.
 */
export interface DiscardReply {
  id: string;
  deleted: boolean;
  unreadable?: string;
}

/** Deletes letters, and the failed value and record of the job each is about. */
export async function discardLetters(
  client: Redis,
  k: QueueKeys,
  letters: readonly LetterRef[],
): Promise<DiscardReply[]> {
  const args: string[] = [k.resultPrefix, k.recordPrefix];
  for (const l of letters) args.push(l.letter, l.id ?? "");
  type Row = [string, number] | [string, 0, string];
  const reply = await runScript<Row[]>(client, scripts.discard, [k.dead], args);
  return reply.map(([id, n, why]) =>
    why === undefined ? { id, deleted: n === 1 } : { id, deleted: false, unreadable: why },
  );
}
