// Reading jobs back and waiting for them on a queue of several shards: ids are grouped by the
// shard they live in (shardOf: an auto id's suffix, a hash of a caller's id), and each shard is
// read with its own keys, since no call may span two shards (CROSSSLOT on a cluster). A queue
// of one shard is read exactly as before.

import { type QueueKeys, shardOf } from "../engine/keys.ts";
import { cannotBeRead } from "../engine/unreadable-text.ts";
import { TIMER_MAX_MS } from "../redis/answer.ts";
import type { Redis } from "../redis/connect.ts";
import { safeText } from "../safe-text.ts";
import { valueWithin } from "../time.ts";
import type { JobRecord } from "../types.ts";
import { getJobs } from "./read.ts";
import { type WaitOptions, type WaitResult, type WaitView, waitForJobs } from "./wait.ts";
import { LAST_LOOK_MS } from "./waiters.ts";

/**
 * Positions of `ids` by the shard each lives in; shard -1 holds the ids that name no shard of
 * the queue (an auto id without a suffix, or one past N, where the queue has shards): unknown.
 */
export function idsByShard(ids: readonly string[], shards: number): Map<number, number[]> {
  const by = new Map<number, number[]>();
  ids.forEach((id, i) => {
    const s = shardOf(id, shards);
    const list = by.get(s);
    if (list) list.push(i);
    else by.set(s, [i]);
  });
  return by;
}

/** getJobs over every shard (`keys`: shard s at index s), in the order of `ids`. */
export async function getJobsOnShards(
  client: Redis,
  keys: readonly QueueKeys[],
  ids: readonly string[],
): Promise<(JobRecord | null)[]> {
  if (keys.length === 1) return getJobs(client, keys[0]!, ids);
  const out: (JobRecord | null)[] = new Array(ids.length).fill(null);
  const reads = [...idsByShard(ids, keys.length)].map(async ([shard, at]) => {
    if (shard < 0) return;
    const records = await getJobs(
      client,
      keys[shard]!,
      at.map((i) => ids[i]!),
    );
    for (const [k, i] of at.entries()) out[i] = records[k] ?? null;
  });
  await Promise.all(reads);
  return out;
}

/**
 * Why a job that reads as unknown may not be: status.lua reads a key of another type as absent,
 * so a job whose failed value or record on its shard holds another type (a hand edit, another
 * program) is said so, in one line; so is an outcome key holding a string that is no outcome,
 * and a record that is there but says nowhere the job is (its fields garbled): R-192, each read
 * as "no such job", exit 4, which says the job never was. null when none (the id is unknown).
 */
export async function unreadableJob(
  client: Redis,
  keys: readonly QueueKeys[],
  id: string,
): Promise<string | null> {
  const k = keys.length === 1 ? keys[0] : keys[shardOf(id, keys.length)];
  if (k === undefined) return null;
  for (const [key, want] of [
    [k.result(id), "string"],
    [k.record(id), "hash"],
  ] as const) {
    const type = await client.sendCommand<string>(["TYPE", key]);
    if (type === "none") continue;
    if (type !== want) return `job ${safeText(id)} ${cannotBeRead(key, type, want)}`;
    if (want === "string") {
      // Two bytes tell an outcome (lib/engine/outcome.ts: F, X or C, then its end's digits).
      const head = String(await client.sendCommand(["GETRANGE", key, "0", "1"]));
      if (!/^[FXC]\d/.test(head)) {
        return `job ${safeText(id)} cannot be read: key ${safeText(key)} holds a string that is no outcome`;
      }
    } else {
      return `job ${safeText(id)} cannot be read: its record ${safeText(key)} is there but says nowhere the job is (its fields garbled)`;
    }
  }
  return null;
}

/**
 * Runs `wait` with a blocking connection of its own (the Queue keeps them for later waits) for
 * the jobs of `list`. If none opens before `deadline` (ms; a connect that hangs is given up
 * then), the wait answers with `look` (one look on the queue's connection, as a wait with no
 * time left); if `signal` aborts first (the wait's own: another shard's refusal ends it too),
 * with every job pending.
 */
export type WithBlocking = (
  wait: (blocking: Redis) => Promise<WaitResult>,
  list: readonly string[],
  deadline: number,
  signal: AbortSignal | undefined,
  look: () => Promise<WaitResult>,
) => Promise<WaitResult>;

/**
 * waitForJobs over the shards the ids live in: one wait per shard, each blocking on its own
 * connection, since a blocking read may cover one shard's events only (several shards' streams
 * in one XREAD are CROSSSLOT on a cluster). Same time limit for each; an id that names no shard
 * ends at once as unknown (null). `from`: each shard's events cursor read with the enqueue of
 * every job in `ids` (lib/queue/recent.ts), or null. A wait Redis refuses for good (a
 * RedisRefusedError) stops the others after their current blocking read, then is thrown.
 */
export async function waitOnShards(
  client: Redis,
  keys: readonly QueueKeys[],
  ids: readonly string[],
  options: WaitOptions,
  from: ReadonlyMap<number, string> | null,
  withBlocking: WithBlocking,
): Promise<WaitResult> {
  // One time limit for the whole wait, the time spent opening a connection included.
  const deadline = Date.now() + options.timeoutMs;
  const waitOn: WaitOn = (shard, list, shardOptions) =>
    byDeadline(deadline, list, shardOptions, (o, view) => {
      // No time left (at the start, or once a connect that hangs is given up): the one look a
      // wait makes needs no blocking connection, only a read of the cursor and the jobs on
      // `client`, whose commands are bounded by commandTimeoutMs as any.
      const k = keys[shard]!;
      const look = () => waitForJobs(client, client, k, list, { ...o, timeoutMs: 0 }, null, view);
      if (Date.now() >= deadline) return look();
      const wait = (blocking: Redis) => {
        const left = { ...o, timeoutMs: Math.max(0, deadline - Date.now()) };
        return waitForJobs(client, blocking, k, list, left, from?.get(shard) ?? null, view);
      };
      return withBlocking(wait, list, deadline, o.signal, look);
    });
  // One shard involved (always so for a queue of one shard): the wait as it always was.
  if (keys.length === 1) return waitOn(0, [...ids], options);
  const groups = [...idsByShard(ids, keys.length)];
  if (groups.length === 1 && groups[0]![0] >= 0) return waitOn(groups[0]![0], [...ids], options);
  const ended = new Map<string, JobRecord | null>();
  const unknown = groups.find(([s]) => s < 0)?.[1].map((i) => ids[i]!) ?? [];
  for (const id of unknown) if (options.keepRecords ?? true) ended.set(id, null);
  const waits = waitEachShard(groups, ids, options, unknown.length, waitOn);
  return merged(await Promise.allSettled(waits), ids, ended);
}

/**
 * One shard's wait, answered by `deadline` + LAST_LOOK_MS at the latest: a command for a
 * cluster master that is down (no replica to take over) waits NODE_WAIT_MS (10 s) for a node
 * to serve it, past the wait's time. The answer is then what the wait found so far (the rest
 * pending), and the wait is told to stop (it ends once that command does); nothing it finds
 * later is told to the caller.
 */
async function byDeadline(
  deadline: number,
  list: readonly string[],
  options: WaitOptions,
  wait: (o: WaitOptions, view: WaitView) => Promise<WaitResult>,
): Promise<WaitResult> {
  const view: WaitView = {};
  const limitMs = deadline + LAST_LOOK_MS - Date.now();
  // No time limit to keep (Infinity, or past what a timer can hold: `--wait` with no limit).
  if (!(limitMs <= TIMER_MAX_MS)) return wait(options, view);
  const late = new AbortController();
  const told = <A extends unknown[]>(f?: (...args: A) => void) =>
    f && ((...args: A) => late.signal.aborted || f(...args));
  const o: WaitOptions = {
    ...options,
    signal: options.signal ? AbortSignal.any([options.signal, late.signal]) : late.signal,
    onProgress: told(options.onProgress),
    onJobProgress: told(options.onJobProgress),
    onError: told(options.onError),
  };
  const answer = await valueWithin(wait(o, view), limitMs);
  if (answer !== null) return answer;
  late.abort();
  const { state } = view;
  const ended = new Map(state?.ended ?? []);
  return { ended, pending: list.filter((id) => state?.waiting.has(id) ?? true) };
}

/** One shard's wait for `list`, on a blocking connection of its own. */
type WaitOn = (shard: number, list: string[], o: WaitOptions) => Promise<WaitResult>;

/**
 * A wait per shard of `groups` but -1 (its `unknown` ids have ended already, as unknown), each
 * telling how many of its jobs ended: `onProgress` is told the sum over all shards. The first
 * wait refused for good aborts the others (after their current blocking read).
 */
function waitEachShard(
  groups: readonly [number, number[]][],
  ids: readonly string[],
  options: WaitOptions,
  unknown: number,
  waitOn: WaitOn,
): Promise<WaitResult>[] {
  const endedBy = new Map<number, number>([[-1, unknown]]);
  const progress = () => {
    const sum = [...endedBy.values()].reduce((a, b) => a + b, 0);
    options.onProgress?.(sum, ids.length);
  };
  if (unknown > 0) progress();
  const stop = new AbortController();
  return groups
    .filter(([s]) => s >= 0)
    .map(([shard, at]) => {
      const onProgress = (n: number) => {
        endedBy.set(shard, n);
        progress();
      };
      const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
      const o = { ...options, onProgress, signal };
      return waitOn(
        shard,
        at.map((i) => ids[i]!),
        o,
      ).catch((err: unknown) => {
        stop.abort();
        throw err;
      });
    });
}

/**
 * The shards' answers as one: `ended` (the unknown ids' already) and every shard's, the ids
 * still pending in the order of `ids`. A wait refused for good is thrown.
 */
function merged(
  settled: readonly PromiseSettledResult<WaitResult>[],
  ids: readonly string[],
  ended: Map<string, JobRecord | null>,
): WaitResult {
  const pending = new Set<string>();
  for (const s of settled) {
    if (s.status === "rejected") throw s.reason;
    for (const [id, r] of s.value.ended) ended.set(id, r);
    for (const id of s.value.pending) pending.add(id);
  }
  return { ended, pending: [...new Set(ids)].filter((id) => pending.has(id)) };
}
