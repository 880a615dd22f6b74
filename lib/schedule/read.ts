// Reading schedules in pages (docs/internals.md, "Recurring schedules"): one queue's by its
// `names` index (ZRANGE BYLEX, by name), every one by HSCAN of `defs`; each page's definitions,
// queues and next runs in a few calls of at most a page of names. No call reads every schedule
// of the prefix, so a listing, `info`, /metrics or the dashboard never stalls Redis however many
// schedules other queues have, and a caller holds one page at a time.
import type { ScheduleKeys } from "../engine/keys.ts";
import { runScript, scripts } from "../engine/lua.ts";
import { readBriefDefs } from "../engine/schedule.ts";
import { isOomError } from "../errors.ts";
import { isWrongType } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { parseDef, type ScheduleDef } from "./spec.ts";

/** Schedules read per call (ZRANGE, HSCAN COUNT, HMGET, ZMSCORE). */
export const READ_PAGE = 500;

export interface ScheduleInfo {
  name: string;
  /** The stored definition; null when it is not one Courier wrote (it never fires). */
  def: ScheduleDef | null;
  /**
   * The next run (ms since the epoch, Redis' clock): the next tick, or the retry time of one
   * backed off after failing to fire; null when paused or ended.
   */
  next: number | null;
}

/**
 * Told of a queue whose key of schedules (its `names` index or its `next` runs) holds another
 * type than Courier writes (another program's key): a listing given one leaves that queue's
 * schedules out and goes on with the others, as the scheduler skips that queue; given none, the
 * WRONGTYPE is thrown. Told once per page that meets it.
 */
export type SkipQueue = (queue: string, key: string) => void;

/** `call`'s reply, or undefined once `skip` was told of `queue`'s `key` it could not read. */
async function orSkip<T>(
  call: Promise<T>,
  skip: SkipQueue | undefined,
  queue: string,
  key: string,
): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (skip === undefined || !isWrongType(err)) throw err;
    skip(queue, key);
    return undefined;
  }
}

/**
 * Builds the `names` index from `where` unless it is whole already (schedules saved before it
 * existed: an upgrade), a page a call, the cursor carried here. Readers build it, not the
 * scheduler, so that a listing is complete though no scheduler runs; two readers building at
 * once add the same names. Its EXISTS runs once a read, never remembered longer: an `indexed`
 * deleted (by hand, or evicted under an allkeys policy) must be built again by the next read,
 * and the dashboard and a worker's /metrics read for days.
 */
export async function ensureIndex(client: Redis, k: ScheduleKeys) {
  if ((await client.sendCommand<number>(["EXISTS", k.indexed])) === 1) return;
  let cursor = "0";
  try {
    do {
      const keys = [k.where, k.indexed];
      cursor = await runScript<string>(client, scripts.scheduleIndex, keys, [
        cursor,
        READ_PAGE,
        k.namesPrefix,
      ]);
    } while (cursor !== "0");
  } catch (err) {
    // A full Redis refuses the build's writes: `info`, /metrics and the dashboard still show
    // what the index holds (schedules saved before it are missing from their queue's until
    // Redis has room again: the next read builds it).
    if (!isOomError(err)) throw err;
  }
}

/** The names of `queue`'s schedules, a page at a time, by name (the index must be whole). */
export async function* namePages(
  client: Redis,
  k: ScheduleKeys,
  queue: string,
  page = READ_PAGE,
  skip?: SkipQueue,
): AsyncGenerator<string[]> {
  let from = "-";
  for (;;) {
    const range = ["ZRANGE", k.names(queue), from, "+", "BYLEX", "LIMIT", "0", String(page)];
    const read = client.sendCommand<string[]>(range);
    const names = await orSkip(read, skip, queue, k.names(queue));
    if (names === undefined) return;
    if (names.length > 0) yield names;
    if (names.length < page) return;
    from = `(${names.at(-1)}`;
  }
}

/** How many schedules `queue` has, paused ones too (the index must be whole). */
export function countNames(client: Redis, k: ScheduleKeys, queue: string): Promise<number> {
  return client.sendCommand<number>(["ZCARD", k.names(queue)]);
}

/**
 * `queue`'s schedules a page at a time, by name (the index must be whole: ensureIndex); none,
 * `skip` told, when a key of the queue's holds another type. `brief`: each definition read
 * without its payload (null there; readBriefDefs), for the lists that never show one.
 */
export async function* queuePages(
  client: Redis,
  k: ScheduleKeys,
  queue: string,
  page = READ_PAGE,
  skip?: SkipQueue,
  brief = false,
): AsyncGenerator<ScheduleInfo[]> {
  for await (const names of namePages(client, k, queue, page, skip)) {
    // A name whose definition is gone was removed between the two reads: left out; so is one
    // whose definition names another queue (moved by a Courier from before the index, which
    // leaves the index as it was: docs/internals.md, "Recurring schedules").
    const defs = brief ? await readBriefDefs(client, k, names) : undefined;
    const got = await readNamed(client, k, names, defs, skip);
    yield got.filter(
      (s): s is ScheduleInfo => s !== undefined && (s.def === null || s.def.queue === queue),
    );
  }
}

/**
 * Every schedule's name and definition, a page at a time (HSCAN: in no order, each page sorted
 * by name; a schedule added or removed meanwhile may be missed, and, only if the hash shrank
 * meanwhile, one listed twice, as any SCAN).
 */
export async function* defPages(
  client: Redis,
  k: ScheduleKeys,
  page = READ_PAGE,
): AsyncGenerator<[string, string][]> {
  let cursor = "0";
  do {
    const [next, flat] = await client.sendCommand<[string, string[]]>([
      ...["HSCAN", k.defs, cursor, "COUNT", String(page)],
    ]);
    cursor = next;
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
    pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // COUNT is a hint: a reply of more is cut, so no later call names more than a page.
    for (let i = 0; i < pairs.length; i += page) yield pairs.slice(i, i + page);
  } while (cursor !== "0");
}

/**
 * Definitions and next runs of `names` (at most a page; `defs` when read already), a name
 * without a definition undefined there, and one of a queue skipped (`skip`: its next runs'
 * key holds another type). A schedule backed off after failing to fire shows its retry time:
 * `info` marks it OVERDUE only once nothing retries it.
 */
export async function readNamed(
  client: Redis,
  k: ScheduleKeys,
  names: readonly string[],
  defs?: readonly (string | null)[],
  skip?: SkipQueue,
): Promise<(ScheduleInfo | undefined)[]> {
  if (names.length === 0) return [];
  const hmget = (key: string) => client.sendCommand<(string | null)[]>(["HMGET", key, ...names]);
  const [texts, queues] = await Promise.all([defs ?? hmget(k.defs), hmget(k.where)]);
  const scores = await nextRuns(client, k, names, queues, skip);
  return names.map((name, i) => {
    const text = texts[i];
    const score = scores[i];
    if (text === null || text === undefined || score === undefined) return undefined;
    const next = score === null ? null : Number(score);
    return { name, def: parseDef(text), next };
  });
}

/**
 * Next runs: one ZMSCORE per queue (its schedules' zset), not a call per schedule; undefined
 * for each of a queue skipped.
 */
async function nextRuns(
  client: Redis,
  k: ScheduleKeys,
  names: readonly string[],
  queues: readonly (string | null)[],
  skip?: SkipQueue,
): Promise<(string | null | undefined)[]> {
  const byQueue = new Map<string, number[]>();
  queues.forEach((queue, i) => {
    if (!queue) return;
    const at = byQueue.get(queue);
    if (at) at.push(i);
    else byQueue.set(queue, [i]);
  });
  const scores: (string | null | undefined)[] = names.map(() => null);
  await Promise.all(
    [...byQueue].map(async ([queue, at]) => {
      const read = client.sendCommand<(string | null)[]>([
        "ZMSCORE",
        k.next(queue),
        ...at.map((i) => names[i]!),
      ]);
      const got = await orSkip(read, skip, queue, k.next(queue));
      at.forEach((i, j) => {
        scores[i] = got === undefined ? undefined : (got[j] ?? null);
      });
    }),
  );
  return scores;
}
