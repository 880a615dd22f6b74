// Reading jobs back in v2 (docs/internals.md, "Reading a job back"): the typed owner of status.lua, turning
// where a job is into today's JobRecord, so `result`, waiters and the dashboard can switch to it.
import type { Redis } from "../redis/connect.ts";
import { toMap } from "../redis/reply.ts";
import type { JobRecord } from "../types.ts";
import { endedJob, type Fields, int, json } from "./ended-record.ts";
import { autoIdMs, entryOfAutoId, GROUP, isAutoId, levelKeys, type QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";
import { parseOutcome } from "./outcome.ts";
import { parseHistory } from "./record.ts";

type Pending = [entry: string, owner: string, idleMs: number, deliveries: number];
type Found = [
  outcome: string | null,
  record: string[],
  pending: Pending | null,
  fields: string[] | null,
  due: string | null,
  /** Redis' TIME (ms) when `due` is given: a due time is judged on Redis' clock. */
  now: number | null,
  progress: string | null,
];

/**
 * Ids read per status.lua call. A script holds Redis for as long as it runs (every other client
 * waits, and past busy-reply-threshold gets BUSY: 300,000 ids in one call held it for 37 s), so
 * a long list is read in calls of this many, one after the other, other clients' commands
 * running between them. An id costs about 5 µs (up to five reads), so a call stays under a
 * millisecond (measured: 10 ms for 500 queued jobs on a machine loaded four times over).
 */
export const STATUS_CHUNK = 100;

/**
 * The longest value a brief read takes, in bytes (status.lua's ARGV[5]): 4 KiB, more than any
 * error Courier keeps (1,000 bytes, lib/errors.ts clipError), so an error reads whole.
 */
export const BRIEF_VALUE_BYTES = 4_096;

/**
 * The jobs' records, in the order of `ids`; null for an id Redis knows nothing of. `goOn` is
 * asked before each call after the first: once it says no, the records read so far are returned
 * (a shorter list), so a reader with a deadline stops there. The first call is always made: a
 * wait with no time left still looks once (a job that has ended is reported as ended). `brief`:
 * no payload, result or progress, the other values cut to BRIEF_VALUE_BYTES (an error longer
 * than that reads as its last part, `…` first): what a list of many jobs, read often, shows.
 */
export async function readStatuses(
  client: Redis,
  keys: QueueKeys,
  ids: readonly string[],
  goOn: () => boolean = () => true,
  brief = false,
): Promise<(JobRecord | null)[]> {
  const out: (JobRecord | null)[] = [];
  for (let at = 0; at < ids.length && (at === 0 || goOn()); at += STATUS_CHUNK) {
    const chunk = ids.slice(at, at + STATUS_CHUNK);
    const sent = chunk.filter((id) => ofShard(id, keys));
    const reply =
      sent.length === 0
        ? []
        : await runScript<Found[]>(
            client,
            scripts.status,
            [keys.stream, keys.delayed, ...levelStreams(keys)],
            [
              ...[keys.resultPrefix, keys.recordPrefix, GROUP, keys.progressPrefix],
              brief ? BRIEF_VALUE_BYTES : 0,
              ...sent,
            ],
          );
    const found = new Map(sent.map((id, n) => [id, reply[n]]));
    for (const id of chunk) {
      const f = found.get(id);
      const r = f ? withLevel(toRecord(id, f), f[1]) : null;
      // A brief read's payload is `null` and its result a cut: neither is the job's.
      if (r && brief) [r.payload, r.result] = [null, null];
      out.push(r);
    }
  }
  return out;
}

/**
 * Whether `id` may be a job of this shard: any caller's id, and an auto id carrying this
 * shard's suffix (`<entry id><idSuffix>`: none on a one-shard queue). An auto id of another
 * shard, or without the suffix where shards have one, names no job here (unknown).
 */
export function ofShard(id: string, keys: QueueKeys): boolean {
  return !isAutoId(id) || entryOfAutoId(id) + keys.idSuffix === id;
}

/** The high and low levels' stream and delayed set (status.lua's KEYS[3..6]). */
function levelStreams(keys: QueueKeys): string[] {
  const [high, low] = [levelKeys(keys, "high"), levelKeys(keys, "low")];
  return [high.stream, high.delayed, low.stream, low.delayed];
}

/** A high or low job's record says so (`priority`); a normal one has no such field. */
function withLevel(r: JobRecord | null, flat: string[]): JobRecord | null {
  const level = toMap(flat ?? []).get("priority");
  if (r !== null && (level === "high" || level === "low")) r.priority = level;
  return r;
}

/** What status.lua found of a job, as its record: null for a job Redis knows nothing of. */
function toRecord(id: string, found: Found): JobRecord | null {
  const [outcome, flat] = found;
  const record = toMap(flat ?? []);
  if (outcome !== null) {
    const o = parseOutcome(String(outcome));
    return o ? endedJob(id, o, record) : null;
  }
  return openRecord(id, found, record);
}

/**
 * A job with no outcome: its record's status first (retrying, waiting for parents), then where
 * it is: parked for a task no live worker has, delivered (started), held back by a rate limit,
 * scheduled, queued.
 */
function openRecord(id: string, found: Found, record: Fields): JobRecord | null {
  const [, , pending, fields, due, , progress] = found;
  const entry = toMap(fields ?? []);
  // The job's fields: from its entry while it has one, else from its record (delayed, retrying).
  const f = entry.size > 0 ? entry : record;
  const status = record.get("status");
  const base = (s: JobRecord["status"], n: number) => baseRecord(id, f, record, s, n);
  const a = int(f.get("a")) ?? 0;
  const runAt = due === null ? null : int(String(due));
  if (status === "retrying") return withRunAt(base("retrying", a), runAt);
  if (status === "waiting-for-parents") return base("waiting-for-parents", a);
  const waitingFor = record.get("waiting_for");
  if (waitingFor !== undefined && entry.size === 0) {
    const r = base("queued", a);
    if (r) r.note = `no live worker has task ${JSON.stringify(waitingFor)}`;
    return r;
  }
  if (pending) {
    // Started: the delivery is the record of the start (attempt = a + deliveries).
    const r = base("started", a + Number(pending[3]));
    if (r) {
      r.worker = String(pending[1]);
      r.progress = progress === null ? null : json(progress);
    }
    return r;
  }
  if (entry.size === 0 && due !== null && record.has("limit_holds")) {
    // Given its slot away by a rate limit (hold.lua): queued, back at runAt (docs/internals.md,
    // "Rate limits"), not scheduled: nobody asked for it to wait.
    return heldBack(withRunAt(base("queued", a), runAt), record.get("k"));
  }
  if (entry.size === 0 && isScheduled(found, record)) return withRunAt(base("scheduled", a), runAt);
  if (entry.size > 0 || due !== null) return base("queued", a);
  return status === "queued" || status === "started" ? base(status, a) : null;
}

/**
 * An open job's record in `status`, its fields `f` (its entry's, else its record's); null when
 * they name no task (not a job).
 */
function baseRecord(
  id: string,
  f: Fields,
  record: Fields,
  s: JobRecord["status"],
  attempts: number,
): JobRecord | null {
  const task = f.get("t");
  if (task === undefined) return null;
  return {
    id,
    task,
    status: s,
    payload: json(f.get("p")),
    attempts,
    maxAttempts: int(f.get("m")) ?? 1,
    enqueuedAt: autoIdMs(id) ?? int(record.get("q")),
    startedAt: null,
    endedAt: null,
    worker: null,
    result: null,
    error: record.get("error") ?? null,
    history: parseHistory(record),
    runAt: null,
    progress: null,
  };
}

/** A job a rate limit gave its slot away: a note saying so, with its limit key if any. */
function heldBack(r: JobRecord | null, key: string | undefined): JobRecord | null {
  if (r) r.note = `held back by a rate limit${key ? ` (key ${JSON.stringify(key)})` : ""}`;
  return r;
}

/**
 * A delayed enqueue whose due time is still ahead by Redis' clock. A job left for another worker
 * (the record's `deferred`: leave.lua re-adds it through the delayed set after a short wait)
 * is queued, not scheduled: nobody asked for it to wait. Once due, a job is queued (the next
 * promotion, every `promoteEveryMs`, puts it in the stream).
 */
function isScheduled([, , , , due, now]: Found, record: ReadonlyMap<string, string>): boolean {
  const dueMs = due === null ? null : int(String(due));
  if (dueMs === null || now === null || record.has("deferred")) return false;
  return record.get("status") === "queued" && dueMs > Number(now);
}

function withRunAt(r: JobRecord | null, runAt: number | null): JobRecord | null {
  if (r) r.runAt = runAt;
  return r;
}

/**
 * A job read from its outcome value `r:<id>` and its record (flat HGETALL, for the earlier runs):
 * what a waiter reads behind its blocking read. null when the value is not an outcome.
 */
export function endedRecord(id: string, value: string, recordFlat: readonly string[]) {
  const o = parseOutcome(value);
  return o ? endedJob(id, o, toMap(recordFlat ?? [])) : null;
}
