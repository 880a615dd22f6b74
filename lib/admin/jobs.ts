// Jobs of a queue by state, page by page, newest first (or oldest), over every shard
// (`queue.ts jobs`, the dashboard's lists; docs/internals.md, "Listing jobs"). Each shard is
// read from its own position (job-states.ts), the rows are merged by time (then by shard), and
// the cursor carries a position per shard: where each goes on, or that it is done. It is
// opaque (base64url of JSON), names its state and order, and is refused for another.

import { type QueueKeys, U64_MAX } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { JOB_STATES, type JobState, READERS } from "./job-states.ts";
import type { JobRow, Placed } from "./states/row.ts";

export { JOB_STATES, type JobRow, type JobState };

export interface JobsPage {
  state: JobState;
  jobs: JobRow[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next: string | null;
}

export interface JobsQuery {
  state: JobState;
  limit: number;
  cursor?: string | null;
  /** Oldest first (default: newest first). */
  oldest?: boolean;
}

/** A shard that has nothing more to show. */
const DONE = "~";

interface Cursor {
  s: JobState;
  o: boolean;
  /** Per shard: a position, null (from the start) or DONE. */
  p: (string | null)[];
}

/** Whether `state` is one `jobs` lists. */
export function isJobState(state: string): state is JobState {
  return (JOB_STATES as readonly string[]).includes(state);
}

function encode(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

/** The cursor's positions, or null when it is no cursor of this listing (state, order, shards). */
export function decodeJobsCursor(
  text: string,
  q: { state: JobState; oldest: boolean },
  shards: number,
): (string | null)[] | null {
  if (!/^[A-Za-z0-9_-]{1,8000}$/.test(text)) return null;
  try {
    const c = JSON.parse(Buffer.from(text, "base64url").toString()) as Cursor;
    const ok =
      c.s === q.state &&
      c.o === q.oldest &&
      Array.isArray(c.p) &&
      c.p.length === shards &&
      c.p.every(
        (p) =>
          p === null || p === DONE || (typeof p === "string" && isPosition(q.state, p, q.oldest)),
      );
    return ok ? c.p : null;
  } catch {
    return null;
  }
}

/**
 * What a position of each state looks like (job-states.ts): an entry id; an event entry id and
 * an index in it; a due time and a job id. Anything else is no cursor Courier printed, refused
 * before it reaches Redis (which would answer an error, not a page). So is an entry id with no
 * id beyond it in the page's direction: the next page starts after it (`(0-0` newest first,
 * `(<max>-<max>` oldest first), which Redis refuses as an interval; no entry has either id.
 */
function isPosition(state: JobState, p: string, oldest: boolean): boolean {
  if (state === "delayed" || state === "waiting-for-parents") {
    const m = /^([0-9.e+-]{1,24}) [A-Za-z0-9_.:-]{1,128}$/.exec(p);
    return m !== null && Number.isFinite(Number(m[1]));
  }
  const m = /^(\d{1,20})-(\d{1,20})(?:\/(\d{1,6}))?$/.exec(p);
  const inEvents = state === "finished" || state === "failed" || state === "canceled";
  if (!m || (m[3] !== undefined) !== inEvents) return false;
  const [ms, seq] = [BigInt(m[1]!), BigInt(m[2]!)];
  if (ms > U64_MAX || seq > U64_MAX) return false;
  const edge = oldest ? ms === U64_MAX && seq === U64_MAX : ms === 0n && seq === 0n;
  return inEvents || !edge;
}

function compare(a: [bigint, bigint], b: [bigint, bigint]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

/**
 * A page of jobs in `state` over `shards`. `positions`: from a cursor (decodeJobsCursor), or
 * null for the first page. Each shard gives up to limit + 1 rows: a shard that gave all it had
 * and had every one shown is done.
 */
export async function listJobs(
  client: Redis,
  shards: readonly QueueKeys[],
  q: JobsQuery,
  positions: (string | null)[] | null,
): Promise<JobsPage> {
  const oldest = q.oldest === true;
  const at = positions ?? shards.map(() => null);
  const read = READERS[q.state];
  const pages = await Promise.all(
    shards.map((keys, s) =>
      at[s] === DONE ? Promise.resolve([]) : read(client, keys, at[s] ?? null, q.limit + 1, oldest),
    ),
  );
  const sign = oldest ? 1 : -1;
  // A stable sort: rows of one shard with one time keep their shard's order.
  const merged = pages
    .flatMap((rows, s) => rows.map((p) => ({ ...p, s })))
    .sort((a, b) => sign * (compare(a.key, b.key) || a.s - b.s));
  const shown = merged.slice(0, q.limit);
  const next = at.map((p, s) => {
    const mine = shown.filter((x) => x.s === s);
    const all = mine.length === pages[s]!.length && pages[s]!.length <= q.limit;
    if (p === DONE || all) return DONE;
    return (mine.at(-1) as Placed | undefined)?.pos ?? p;
  });
  const more = next.some((p) => p !== DONE);
  return {
    state: q.state,
    jobs: shown.map((x) => x.row),
    next: more ? encode({ s: q.state, o: oldest, p: next }) : null,
  };
}
