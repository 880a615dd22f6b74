// A job's dead letter found by its id: the letter its failed value names (no scan), else one
// look through the dead stream, newest first, in pages bounded by count and bytes, for every id
// of a call at once (R106: a page of 1,000 letters per id, 16 ids at once, took up to 1.5 GB).

import { isAutoId, type QueueKeys } from "../engine/keys.ts";
import { deadPages } from "../engine/letters.ts";
import { parseOutcome } from "../engine/outcome.ts";
import { field } from "../queue/read.ts";
import type { Redis } from "../redis/connect.ts";
import { letterBytes, nextPageCount, PAGE_FIRST } from "./letter-runs.ts";
import { type DeadLetter, ENTRY_ID, type RawEntry, toLetter } from "./letters.ts";

/** The newest dead letter of a job, or null. */
export async function findDead(
  client: Redis,
  keys: QueueKeys,
  jobId: string,
): Promise<DeadLetter | null> {
  const entry = await findDeadEntry(client, keys, jobId);
  return entry ? toLetter(entry) : null;
}

/** The newest dead letter of a job as stored (entry id, fields), or null. */
export async function findDeadEntry(
  client: Redis,
  keys: QueueKeys,
  jobId: string,
): Promise<RawEntry | null> {
  const named = await namedLetter(client, keys, jobId);
  if (named) return named;
  return (await scanDead(client, keys, [jobId], (e) => e)).get(jobId) ?? null;
}

/**
 * The letter a failed job's outcome value names (no scan needed while it is kept), or null: no
 * value (expired, dropped on a full Redis), a key of another type, or a letter not this job's.
 */
export async function namedLetter(
  client: Redis,
  keys: QueueKeys,
  jobId: string,
): Promise<RawEntry | null> {
  const value = await client
    .sendCommand<string | null>(["GET", keys.result(jobId)])
    .catch(() => null); // a key of another type: look through the letters
  const known = value ? parseOutcome(value)?.letter : null;
  // Only a stream id (two 64-bit numbers, as isAutoId says) is sent to XRANGE: Redis refuses
  // one past the range, and a corrupt pointer must not hide the letter the scan finds.
  if (!known || !ENTRY_ID.test(known) || !isAutoId(known)) return null;
  const [entry] = await client.sendCommand<RawEntry[]>(["XRANGE", keys.dead, known, known]);
  return entry && field(entry[1], "id") === jobId ? entry : null;
}

/** Letters a page of scanDead holds at most (R106: 1,000 letters of 256 KB were 256 MB at once). */
export const SCAN_MOST = 50;

/**
 * The newest letter of each of `jobIds` whose failed value names none, found by one look
 * through the dead stream, newest first, for them all; each kept as `keep` makes it (a requeue
 * keeps its weight, not its payload). Pages of PAGE_FIRST letters, then about MOVE_BYTES of
 * letters as large as the last page's (at most SCAN_MOST): a letter holds its job's payload.
 * The stream is capped (deadMaxLen), so this is bounded; it stops once every id is found. The
 * walk is deadPages (lib/engine/letters.ts), as recordsFromLetters'.
 */
export async function scanDead<T>(
  client: Redis,
  keys: QueueKeys,
  jobIds: readonly string[],
  keep: (e: RawEntry, jobId: string) => T,
): Promise<Map<string, T>> {
  const wanted = new Set(jobIds);
  const found = new Map<string, T>();
  if (wanted.size === 0) return found;
  const next = (page: RawEntry[]) => {
    let bytes = 0;
    for (const e of page) bytes += letterBytes(e[1]);
    return Math.min(SCAN_MOST, nextPageCount(page.length, bytes));
  };
  for await (const page of deadPages(client, keys.dead, PAGE_FIRST, next)) {
    for (const e of page) {
      const id = field(e[1], "id");
      if (id !== null && wanted.delete(id)) found.set(id, keep(e, id)); // the newest: first met
    }
    if (wanted.size === 0) break;
  }
  return found;
}
