// Dead letters: list them page by page (newest first), requeue or delete them (one script each,
// atomic per letter), purge them by age. One found by job id: dead-find.ts.

import { MOVE_BYTES } from "../config.ts";
import { json } from "../engine/ended-record.ts";
import type { QueueKeys } from "../engine/keys.ts";
import {
  type DiscardReply,
  discardLetters as discard,
  type RequeueReply,
  type RequeueVerdict,
  requeueLetters as requeue,
} from "../engine/requeue.ts";
import { readStreamPage } from "../engine/stream-page.ts";
import { field } from "../queue/read.ts";
import type { Redis } from "../redis/connect.ts";
import {
  letterBytes,
  nextPageCount,
  PAGE_FIRST,
  type RequeueAllTally,
  runsByBytes,
  tallyRequeued,
} from "./letter-runs.ts";

export type { RequeueAllTally, RequeueReply, RequeueVerdict };
/** A dead letter as Redis stores it: [entry id, fields]. */
export type RawEntry = [string, string[]];

export interface DeadLetter {
  /** The letter's entry id in the dead stream; its ms part is when the job died. */
  entryId: string;
  /** The job id. */
  id: string;
  task: string;
  error: string;
  /** The attempt that failed; null when the letter's field is not a number (a corrupt entry's `a`). */
  attempts: number | null;
  payload: unknown;
  /** When the job was dead-lettered, ms since the epoch. */
  deadAt: number;
}

export interface DeadPage {
  /** Dead letters kept in all. */
  total: number;
  letters: DeadLetter[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next: string | null;
}

/** A stream entry id as Redis writes one (ms-seq). */
export const ENTRY_ID = /^\d+-\d+$/;

export async function listDead(
  client: Redis,
  keys: QueueKeys,
  cursor: string | null,
  limit: number,
): Promise<DeadPage> {
  const from = cursor && ENTRY_ID.test(cursor) ? `(${cursor}` : "+";
  const [total, read] = await Promise.all([
    client.sendCommand<number>(["XLEN", keys.dead]),
    deadFrom(client, keys, from, limit + 1),
  ]);
  const letters = read.letters.slice(0, limit);
  const more = read.letters.length > limit || read.cut;
  return { total: Number(total), letters, next: more ? (letters.at(-1)?.entryId ?? null) : null };
}

/**
 * The bytes of letters a page holds at most, the letter that crosses it included (a larger one
 * is a page alone): 300 letters of 1 MB made one page of 300 MB (986 MB of RSS, R-190).
 */
export const DEAD_PAGE_BYTES = 4 * MOVE_BYTES;

/**
 * Letters newest first from `from` (an XREVRANGE start: `+`, `<id>` or `(<id>`), at most
 * `count`, and at most `bytes` of them (the letter that crosses it included): `cut` when the
 * bytes stopped it, older letters then may follow. Weighed in Redis, one letter at a time
 * (stream-page.lua): read 16 at a time and weighed here, 20 letters of 20 MB took `dead list`
 * to 669 MB for one row.
 */
export async function deadFrom(
  client: Redis,
  keys: QueueKeys,
  from: string,
  count: number,
  bytes = DEAD_PAGE_BYTES,
): Promise<{ letters: DeadLetter[]; cut: boolean }> {
  const q = { reverse: true, from, to: "-", count, bytes };
  const { entries, cut } = await readStreamPage(client, keys.dead, q);
  return { letters: entries.map(toLetter), cut };
}

/**
 * Requeues letters [entry id, job id ('' = any)]; atomic per letter (requeue.lua). A letter
 * whose job's keys hold another type is `unreadable` on its own, the others requeued.
 */
export async function requeueLetters(
  client: Redis,
  keys: QueueKeys,
  letters: readonly [string, string][],
  o: { maxAttempts: number },
): Promise<RequeueReply[]> {
  if (letters.length === 0) return [];
  return requeue(client, keys, letters.map(toRef), o.maxAttempts);
}

function toRef([letter, id]: readonly [string, string]) {
  return { letter, id: id === "" ? null : id };
}

/**
 * Requeues every letter there is now (not those that die again meanwhile); says how many, and
 * those left unreadable, in `tally` as it goes (a later call's failure leaves what the earlier
 * ones did there). Pages and calls hold about `bytes` of letters each (letter-runs.ts).
 */
export async function requeueAllLetters(
  client: Redis,
  keys: QueueKeys,
  o: { maxAttempts: number; bytes?: number },
  tally: RequeueAllTally = { requeued: 0, unreadable: 0, first: null },
): Promise<RequeueAllTally> {
  // The newest letter's id only (its payload may be large): the requeue stops there.
  const newest = { reverse: true, from: "+", to: "-", count: 1, fields: ["id"] };
  const [last] = (await readStreamPage(client, keys.dead, newest)).entries;
  if (!last) return tally;
  const bytes = o.bytes ?? MOVE_BYTES;
  let from = "-";
  let most = PAGE_FIRST;
  for (;;) {
    // At most `most` letters and about `bytes` of them, weighed in Redis (stream-page.lua).
    const range = { reverse: false, from, to: last[0], count: most, bytes };
    const page: RawEntry[] = (await readStreamPage(client, keys.dead, range)).entries;
    if (page.length === 0) return tally;
    // Each letter weighed once: for its runs, and the page's total for the next page's size.
    const weights = new Map(page.map((e) => [e, letterBytes(e[1])]));
    for (const run of runsByBytes(page, (e) => weights.get(e)!, o.bytes)) {
      const pairs = run.map((e) => [e[0], ""] as [string, string]);
      tallyRequeued(tally, await requeueLetters(client, keys, pairs, o));
    }
    most = nextPageCount(
      page.length,
      [...weights.values()].reduce((a, b) => a + b, 0),
      o.bytes,
    );
    from = `(${page.at(-1)![0]}`;
  }
}

/**
 * Deletes letters, and the failed outcome and record of the job each is about (discard.lua);
 * what became of each letter found (one whose job's keys hold another type is kept: `unreadable`).
 */
export async function discardLetters(
  client: Redis,
  keys: QueueKeys,
  letters: readonly [string, string][],
): Promise<DiscardReply[]> {
  if (letters.length === 0) return [];
  return discard(client, keys, letters.map(toRef));
}

/**
 * Deletes dead letters older than `olderThanMs` (all when undefined); returns how many. The
 * jobs' outcomes are left to expire with their failure TTL. Trimming by MINID is safe here:
 * the dead stream is not the job stream.
 */
export async function purgeLetters(
  client: Redis,
  keys: QueueKeys,
  now: number,
  olderThanMs: number | undefined,
): Promise<number> {
  if (olderThanMs === undefined) {
    // One command, so it is atomic and counts exactly what it deletes (a letter written
    // meanwhile is either counted and deleted, or kept). Not MULTI: a full Redis refuses to
    // queue any command inside MULTI, even one that frees memory, and purging is how an
    // operator makes room. XTRIM takes no memory, so Redis runs it when full. The empty
    // stream left behind weighs a few bytes.
    return Number(await client.sendCommand(["XTRIM", keys.dead, "MAXLEN", "0"]));
  }
  const minId = String(Math.max(0, Math.ceil(now - olderThanMs))); // whole ms: a stream id
  return Number(await client.sendCommand(["XTRIM", keys.dead, "MINID", minId]));
}

export function toLetter([entryId, fields]: RawEntry): DeadLetter {
  const parsed = json(field(fields, "payload"));
  return {
    entryId,
    id: field(fields, "id") ?? "",
    task: field(fields, "task") ?? "",
    error: field(fields, "error") ?? "",
    attempts: letterAttempts(field(fields, "attempts")),
    payload: parsed,
    deadAt: Number(entryId.split("-")[0]),
  };
}

/**
 * A letter's `attempts`: digits as written by the scripts, else null. A buried entry's letter
 * carries its `a` as it was (`corrupt record: attempt count is not a number`): no NaN on show.
 */
function letterAttempts(v: string | null | undefined): number | null {
  return v != null && /^\d{1,15}$/.test(v) ? Number(v) : null;
}
