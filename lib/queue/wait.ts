// Waiting for jobs to end. Waiting blocks on the events stream (XREAD BLOCK), so a waiter wakes
// as soon as a job finishes, without polling, and reads the jobs' outcome values `r:<id>`
// (lib/queue/read.ts; the events' reads: lib/queue/wait-events.ts).

import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { exponentialMs, pause } from "../time.ts";
import { type JobRecord, TERMINAL_STATUSES } from "../types.ts";
import { getJobs, readOutcomes } from "./read.ts";
import {
  blockLimitMs,
  callBack,
  lastEventId,
  readEvents,
  refuseForGood,
  tellProgress,
} from "./wait-events.ts";

/** Waits for at most this many jobs read their records behind each blocking read. */
export const READ_BEHIND_MAX = 16;

export interface WaitOptions {
  /** Give up after this long; the jobs still running are left out of the answer. */
  timeoutMs: number;
  /** Called each time more jobs have ended. A callback here that throws ends the wait with that. */
  onProgress?: (ended: number, total: number) => void;
  /**
   * Called with each progress a waited-for job reports (`ctx.progress`, as written: coalesced),
   * from the events the wait reads anyway, and with the progress a look at a running job finds
   * (the first look, so a value reported just before the wait began is told too). A value may
   * be told twice; one whose event was trimmed unseen is missed.
   */
  onJobProgress?: (id: string, value: unknown) => void;
  /** Even with no event, re-read the jobs this often (covers events trimmed away unseen). */
  recheckMs?: number;
  /**
   * Told when a read fails, or opening the wait's connection does (Redis down); waiting goes
   * on until the timeout. A read Redis refuses for good (a key of another type, NOPERM) rejects
   * the wait with a RedisRefusedError instead.
   */
  onError?: (err: unknown) => void;
  /** Longest one blocking read of the events waits (default 1,000 ms). */
  blockMs?: number;
  /**
   * Keep the records of the jobs that end in the answer's `ended` (default true). false, for
   * a caller that reads them afterwards anyway: `ended` stays empty, so waiting for many jobs
   * holds their ids, not their records.
   */
  keepRecords?: boolean;
  /**
   * Ends the wait early once aborted (after the blocking read under way; at once while its
   * connection is still opening): the jobs not seen ending are left in `pending`. A wait over several shards stops the others so when one is
   * refused for good (lib/queue/shards.ts).
   */
  signal?: AbortSignal;
}

export interface WaitResult {
  /** Jobs that ended (finished or failed), and ids that are unknown (null). */
  ended: Map<string, JobRecord | null>;
  /**
   * Ids still not ended when the time ran out, or not read by then: the first look reads 100
   * jobs a call and stops at the time limit (`timeoutMs: 0` reads the first 100 only).
   */
  pending: string[];
}

/**
 * Waits until every job has finished or failed. `blocking` must be a connection of its own:
 * XREAD BLOCK holds it (a wait with no time and no `from` uses none: it looks once on
 * `client`). The cursor is read before the jobs are checked (same connection, pipelined in that
 * order), so an event that lands between the check and the first read is still seen. `from`: an events cursor no event of any job in `ids` comes before (read with its enqueue)
 * (lib/queue/recent.ts), so that none of them had ended at it: the wait blocks from there at
 * once, with no first look (used for at most READ_BEHIND_MAX jobs, whose outcomes are read
 * behind every blocking read). Such a wait reads once whatever its time, and looks once (the
 * status script, which finds dead letters too) after a blocking read that brings no event: a
 * job whose event was trimmed or deleted unseen costs it one blocking read, not a recheck.
 */
export async function waitForJobs(
  client: Redis,
  blocking: Redis,
  keys: QueueKeys,
  ids: readonly string[],
  options: WaitOptions,
  from: string | null = null,
  view?: WaitView,
): Promise<WaitResult> {
  const w = newWait(client, blocking, keys, ids, options, from);
  if (view) view.state = w;
  const { waiting, ended, deadline } = w;
  const check = checker(w);
  // From an enqueue's cursor the first blocking read reads once whatever the time.
  let unread = w.cursor !== null;
  // The first look is retried like the reads below: called just after Redis restarted, the
  // client may still be reconnecting (it fails fast meanwhile), and the wait must not end there.
  if (!(await firstLook(w, check))) return { ended, pending: [...waiting] };
  let lastCheck = Date.now();
  let failures = 0;
  while (waiting.size > 0) {
    const left = deadline - Date.now();
    if (left <= 0 && !unread) break;
    if (options.signal?.aborted) break;
    unread = false;
    try {
      if (await readOnce(w, check, left, lastCheck)) lastCheck = Date.now();
      failures = 0;
    } catch (err) {
      // Redis went away (restart, network): keep waiting while the client reconnects, and
      // re-read every job once it is back, since events may have been missed meanwhile.
      await refuseForGood(client, keys, err);
      options.onError?.(err);
      lastCheck = 0;
      await backOff(options, Math.min(exponentialMs(100, failures++, 2_000), Math.max(1, left)));
    }
  }
  return { ended, pending: [...waiting] };
}

/** A pause after a failed read, ended early by the signal (Queue.close() aborts it too). */
function backOff(options: WaitOptions, ms: number): Promise<void> {
  return options.signal ? pause(ms, options.signal) : Bun.sleep(ms);
}

/**
 * What a wait has found so far (its state, once it began): for a caller that answers before
 * the wait does (lib/queue/shards.ts, a shard whose master is down past the wait's time).
 */
export interface WaitView {
  state?: { ended: Map<string, JobRecord | null>; waiting: Set<string> };
}

/** One wait's state, shared by its steps below. */
interface Wait {
  client: Redis;
  blocking: Redis;
  keys: QueueKeys;
  ids: readonly string[];
  options: WaitOptions;
  deadline: number;
  waiting: Set<string>;
  ended: Map<string, JobRecord | null>;
  endedCount: number;
  /** The events read up to here (null until the first look read it). */
  cursor: string | null;
  /** Look at every job once the first blocking read brings no event (readOnce). */
  lookOnEmpty: boolean;
}

/** A wait's state at its start: its time limit runs from now. */
function newWait(
  client: Redis,
  blocking: Redis,
  keys: QueueKeys,
  ids: readonly string[],
  options: WaitOptions,
  from: string | null,
): Wait {
  const deadline = Date.now() + options.timeoutMs;
  // An enqueue's cursor serves a few jobs only: their outcomes are read behind each blocking read.
  const cursor = ids.length <= READ_BEHIND_MAX ? from : null;
  return {
    ...{ client, blocking, keys, ids, options, deadline, cursor },
    waiting: new Set(ids),
    ended: new Map(),
    endedCount: 0,
    // From an enqueue's cursor nothing is read before the blocking reads: the first reads once
    // whatever the time, and the wait looks once (readOnce).
    lookOnEmpty: cursor !== null,
  };
}

/** Reads records (`reading`, or `list`'s) and takes the ended jobs out of the wait. */
type Check = (
  list: string[],
  reading?: Promise<(JobRecord | null)[]>,
  unknownEnds?: boolean,
) => Promise<void>;

/** A long list is read in several calls: once the time is up, the wait stops reading. */
function readJobs(w: Wait, list: string[]): Promise<(JobRecord | null)[]> {
  return getJobs(w.client, w.keys, list, true, () => Date.now() < w.deadline);
}

function checker(w: Wait): Check {
  const { options, ended, waiting, ids } = w;
  // `unknownEnds`: a null read means the id is unknown (a full read), not "no outcome yet".
  // `records` may be shorter than `list` (the time ran out): the ids past it are still waited for.
  return async (list, reading = readJobs(w, list), unknownEnds = true) => {
    const records = await reading;
    records.forEach((r, i) => {
      // A running job's progress as read: the first look tells what it has (its event may be
      // older than the wait's cursor).
      if (r && r.progress !== null) callBack(options.onJobProgress, list[i]!, r.progress);
      if (r ? !TERMINAL_STATUSES.has(r.status) : !unknownEnds) return;
      if (options.keepRecords ?? true) ended.set(list[i]!, r);
      waiting.delete(list[i]!);
      w.endedCount++;
    });
    callBack(options.onProgress, w.endedCount, ids.length);
  };
}

/**
 * The first look (none from an enqueue's cursor): the events cursor, then every job. false:
 * the time ran out, or the wait was aborted, before it could be read.
 */
async function firstLook(w: Wait, check: Check): Promise<boolean> {
  const { client, keys, options, waiting } = w;
  let failures = 0;
  while (w.cursor === null) {
    try {
      // Sent in the same tick, so pipelined: Redis runs the cursor read before the job reads,
      // which is the order that matters, at the cost of one round trip instead of two.
      const cursorRead = lastEventId(client, keys);
      const firstRead = readJobs(w, [...waiting]);
      firstRead.catch(() => {}); // if the cursor read fails, its error is the one reported
      const first = await cursorRead;
      await check([...waiting], firstRead);
      w.cursor = first;
    } catch (err) {
      await refuseForGood(client, keys, err);
      options.onError?.(err);
      const left = w.deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return false;
      await backOff(options, Math.min(exponentialMs(100, failures++, 2_000), left));
    }
  }
  return true;
}

/** One blocking read of the events and the checks it calls for; true: every job was read. */
async function readOnce(w: Wait, check: Check, left: number, lastCheck: number): Promise<boolean> {
  const { blocking, keys, options, waiting, lookOnEmpty } = w;
  // Waiting for a few jobs, their records are read right behind the blocking read, on the
  // same connection: Redis runs that read as soon as the blocking one returns (an event,
  // or its time is up), so a waiter has the record without another round trip.
  const list = [...waiting];
  const blockMs = Math.min(left, blockLimitMs(options.blockMs));
  const read = readEvents(blocking, keys, w.cursor as string, blockMs);
  const behind = list.length <= READ_BEHIND_MAX ? readOutcomes(blocking, keys, list) : null;
  behind?.catch(() => {}); // if the blocking read fails, its error is the one reported
  const events = await read;
  const touched = new Set<string>();
  for (const e of events) {
    w.cursor = e.entryId;
    if (e.type === "progress") tellProgress(e, waiting, options.onJobProgress);
    else for (const id of e.jobIds) if (waiting.has(id)) touched.add(id);
  }
  const recheck = Date.now() - lastCheck >= (options.recheckMs ?? 10_000);
  if (behind) {
    // Ended jobs are known from their outcome values; a touched job without one (failed
    // while Redis was full: a letter but no value) is read in full.
    const outcomes = await behind;
    list.forEach((id, i) => {
      if (outcomes[i]) touched.delete(id);
    });
    await check(list, Promise.resolve(outcomes), false);
  }
  // A job that ended with no outcome value (a letter only) and whose event is gone is
  // found by the status script: looked for once the first blocking read brings no event.
  const quiet = events.length === 0 || Date.now() >= w.deadline;
  const look = lookOnEmpty && waiting.size > 0 && quiet;
  if (look) w.lookOnEmpty = false;
  const all = recheck || look;
  if (touched.size > 0 || all) await check(all ? [...waiting] : [...touched]);
  return all;
}
