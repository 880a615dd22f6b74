// A job whose record was dropped but whose dead letter is kept: a job that fails for good while
// Redis is full keeps only its letter (lib/engine/lua/include/dead.lua, failure TTL 0: the record is deleted to free
// memory, and the letter is marked `record dropped`). The job failed, and reading it must say
// so, not "unknown id". Only marked letters count: a record that expired after failureTtlS
// reads as unknown, as before, and a later job that reuses the id is never shown an old letter
// of a job whose record simply expired. A job dead-lettered because its outcome key r:<id> held
// another type (fail.lua, finish.lua: `corrupt record: key … holds a …`) has no outcome either,
// and is read from its letter the same way.

import { MOVE_BYTES } from "../config.ts";
import { wrongTypeAs } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { field } from "../redis/reply.ts";
import type { JobRecord } from "../types.ts";
import { json } from "./ended-record.ts";
import type { QueueKeys } from "./keys.ts";
import { readStreamPage } from "./stream-page.ts";

/**
 * How many of the newest dead letters are looked through for jobs whose record is gone. No
 * index names a letter by job id (the record's `dead_entry` went with the record), so this is
 * a scan, bounded to the newest LETTER_LOOKBACK letters read LETTER_PAGE at a time: it runs only for ids with no record, only where the caller
 * asks about jobs it names (`result`, waiters, `Queue.getJobs`; not the dashboard's reads, which
 * anyone may send), and a letter carries its payload, so the bound is kept small. A job
 * dead-lettered before the newest 1,000 reads as unknown here; `dead show ID` looks through
 * every letter. A full Redis keeps at least this many when it drops the oldest letters for new
 * ones (LETTERS_KEPT_WHEN_FULL, lib/engine/lua/include/dead.lua; a test checks they agree).
 */
export const LETTER_LOOKBACK = 1_000;
/**
 * Letters read per call of that scan: a letter carries its payload (256 KB or more), so a page
 * of the whole lookback could hold hundreds of MB in the reader and in Redis' reply buffer; a
 * page of 50 holds about 13 MB of such letters, and an id found early stops the scan.
 */
export const LETTER_PAGE = 50;

export const RECORD_GONE_NOTE =
  "its record was dropped while Redis was full; read from its dead letter";
export const CORRUPT_OUTCOME_NOTE =
  "its outcome key holds another type of value; read from its dead letter";

/** The jobs among `ids` that have a dead letter (the newest one each), as failed records. */
export async function recordsFromLetters(
  client: Redis,
  keys: QueueKeys,
  ids: readonly string[],
): Promise<Map<string, JobRecord>> {
  const wanted = new Set(ids);
  const found = new Map<string, JobRecord>();
  if (wanted.size === 0) return found;
  const pages = deadPages(client, keys.dead, LETTER_PAGE, () => LETTER_PAGE, LETTER_LOOKBACK);
  try {
    for await (const page of pages) {
      for (const entry of page) {
        const id = field(entry[1], "id");
        if (id === null || !wanted.has(id)) continue;
        const dropped = field(entry[1], "record") === "dropped";
        const corrupt = field(entry[1], "error")?.startsWith(corruptOutcome(keys, id));
        if (!dropped && !corrupt) continue;
        wanted.delete(id);
        found.set(id, letterRecord(id, entry, dropped ? RECORD_GONE_NOTE : CORRUPT_OUTCOME_NOTE));
      }
      if (wanted.size === 0) break;
    }
  } catch (err) {
    wrongTypeAs(null)(err); // a dead key that is not a stream (corrupt): no letters
  }
  return found;
}

/**
 * The dead stream's letters, newest first, a page a call: `first` letters, then as many as
 * `next` says for the page just read, at most `most` in all; a page also ends at the letter
 * that reaches MOVE_BYTES (weighed in Redis as it reads them, stream-page.lua: a letter holds
 * its job's payload, so a count alone bounds nothing); it ends at the stream's end, or when the
 * caller stops (break) once it has what it looks for. The one walk behind finding letters by
 * job id: here (the newest LETTER_LOOKBACK) and `dead show|requeue|delete ID`
 * (lib/admin/dead-find.ts, all).
 */
export async function* deadPages(
  client: Redis,
  dead: string,
  first: number,
  next: (page: DeadEntry[]) => number,
  most = Number.POSITIVE_INFINITY,
): AsyncGenerator<DeadEntry[]> {
  let from = "+";
  let count = first;
  for (let seen = 0; seen < most; ) {
    const take = Math.min(count, most - seen);
    const q = { reverse: true, from, to: "-", count: take, bytes: MOVE_BYTES };
    const { entries: page, cut } = await readStreamPage(client, dead, q);
    yield page;
    if (page.length === 0 || (page.length < take && !cut)) return;
    seen += page.length;
    count = next(page);
    from = `(${page.at(-1)![0]}`;
  }
}

/** A letter as XRANGE gives it: its entry id and its fields. */
export type DeadEntry = [string, string[]];

/** How the letter of a job whose r:<id> held another type begins (lib/engine/lua/fail.lua). */
function corruptOutcome(keys: QueueKeys, id: string): string {
  return `corrupt record: key ${keys.resultPrefix}${id} holds a `;
}

function letterRecord(id: string, [entryId, fields]: [string, string[]], note: string): JobRecord {
  const payload = json(field(fields, "payload"));
  const maxAttempts = Number(field(fields, "max_attempts"));
  return {
    id,
    task: field(fields, "task") ?? "",
    status: "failed",
    payload,
    attempts: Number(field(fields, "attempts") ?? 0) || 0,
    maxAttempts: Number.isFinite(maxAttempts) ? maxAttempts : 0,
    enqueuedAt: null,
    startedAt: null,
    endedAt: Number(entryId.split("-")[0]),
    runAt: null,
    worker: null,
    progress: null,
    result: null,
    error: field(fields, "error") ?? "",
    history: [],
    note,
  };
}
