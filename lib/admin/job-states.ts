// One shard's jobs in one state, read from where that state lives (never a scan of the
// keyspace; docs/internals.md, "Listing jobs"): waiting = stream entries after the group's
// last-delivered-id, running = the pending list, delayed = the delayed set, finished / failed /
// canceled = the events stream, dead = the dead letters. Each row carries its position in its
// shard (where the next page goes on) and a sort key (when) for the merge over shards (jobs.ts).

import { autoIdMs, GROUP, type QueueKeys } from "../engine/keys.ts";
import { compareStreamIds } from "../queue/recent.ts";
import type { Redis } from "../redis/connect.ts";
import { toLetter } from "./letters.ts";
import { readGroup } from "./stats.ts";

export const JOB_STATES = [
  "waiting",
  "running",
  "delayed",
  "finished",
  "failed",
  "dead",
  "canceled",
  "waiting-for-parents",
] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobRow {
  id: string;
  task: string;
  /** Waiting, running: enqueued; delayed: due; finished, failed, canceled: ended; dead: died (ms). */
  at: number | null;
  /** The attempt it runs (running), will run (waiting, delayed) or ran last; null: unknown. */
  attempt: number | null;
  /** Running: the worker (consumer) that has it. */
  worker?: string;
}

export interface Placed {
  row: JobRow;
  /** Where this shard goes on after this row. */
  pos: string;
  /** The merge key: when, as [ms, seq] (entry ids) or [due ms, 0]. */
  key: [bigint, bigint];
}

/** Reads up to `count` rows of one shard after `pos` (null: from the start). */
export type StateReader = (
  client: Redis,
  keys: QueueKeys,
  pos: string | null,
  count: number,
  oldest: boolean,
) => Promise<Placed[]>;

type Entry = [string, string[] | null];

/** Events entries read per call while a page is filled. */
const EVENTS_CHUNK = 200;
/** The head of an outcome value read for its task and attempt (not its payload or result). */
const OUTCOME_HEAD = 2_047;

function fieldsOf(flat: readonly string[] | null): Map<string, string> {
  const f = new Map<string, string>();
  for (let i = 0; flat && i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
  return f;
}

export function entryKey(id: string): [bigint, bigint] {
  const [ms, seq] = id.split("-");
  return [BigInt(ms ?? 0), BigInt(seq ?? 0)];
}

function num(v: string | undefined): number | null {
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : null;
}

/** A job from its entry: its id (`i`, else the entry id and the shard's suffix), task, `a`. */
function entryJob(keys: QueueKeys, entryId: string, flat: readonly string[] | null) {
  const f = fieldsOf(flat);
  const id = f.get("i") ?? entryId + keys.idSuffix;
  const at = autoIdMs(id) ?? Number(entryKey(entryId)[0]);
  return { id, task: f.get("t") ?? "", at, used: num(f.get("a")) };
}

/** The group's last-delivered-id; null when there is no group yet (every entry waits). */
async function lastDelivered(client: Redis, keys: QueueKeys): Promise<string | null> {
  return (await readGroup(client, keys))?.lastDeliveredId ?? null;
}

const earlier = (a: string, b: string) => (compareStreamIds(a, b) <= 0 ? a : b);
const later = (a: string, b: string) => (compareStreamIds(a, b) >= 0 ? a : b);

const waiting: StateReader = async (client, keys, pos, count, oldest) => {
  const last = await lastDelivered(client, keys);
  const floor = last === null ? "-" : `(${last}`;
  const range = oldest
    ? ["XRANGE", keys.stream, pos && last ? `(${later(pos, last)}` : pos ? `(${pos}` : floor, "+"]
    : ["XREVRANGE", keys.stream, pos ? `(${pos}` : "+", floor];
  const entries = await client.sendCommand<Entry[]>([...range, "COUNT", String(count)]);
  return entries.map(([entryId, flat]) => {
    const j = entryJob(keys, entryId, flat);
    const row = { id: j.id, task: j.task, at: j.at, attempt: j.used === null ? null : j.used + 1 };
    return { row, pos: entryId, key: entryKey(entryId) };
  });
};

type PendingRow = [string, string, number, number];

const running: StateReader = async (client, keys, pos, count, oldest) => {
  const shown = oldest
    ? await pendingFrom(client, keys, pos, count)
    : await pendingNewest(client, keys, pos, count);
  const entries = await Promise.all(
    shown.map(([id]) => client.sendCommand<Entry[]>(["XRANGE", keys.stream, id, id])),
  );
  return shown.flatMap(([entryId, consumer, , deliveries], i) => {
    const flat = entries[i]?.[0]?.[1];
    if (!flat) return []; // acknowledged and deleted since: no longer running
    const j = entryJob(keys, entryId, flat);
    const attempt = j.used === null ? null : j.used + Number(deliveries);
    const row = { id: j.id, task: j.task, at: j.at, attempt, worker: String(consumer) };
    return [{ row, pos: entryId, key: entryKey(entryId) }];
  });
};

const noGroup = (err: Error) =>
  /NOGROUP|no such key/i.test(err.message) ? [] : Promise.reject(err);

/** Oldest first: the pending list itself, after `pos`. */
function pendingFrom(client: Redis, keys: QueueKeys, pos: string | null, count: number) {
  const start = pos ? `(${pos}` : "-";
  const cmd = ["XPENDING", keys.stream, GROUP, start, "+", String(count)];
  return client.sendCommand<PendingRow[]>(cmd).catch(noGroup);
}

/**
 * Newest first: the pending list has no reverse order, so the stream is read downwards from
 * the group's last delivery (every entry at or below it was delivered; one acknowledged is
 * deleted in the same script), and each entry's pending row is read on its own. A page costs
 * `count` reads whatever the pending list's length.
 */
async function pendingNewest(client: Redis, keys: QueueKeys, pos: string | null, count: number) {
  const last = await lastDelivered(client, keys);
  if (last === null) return [];
  const top = pos ? `(${earlier(pos, last)}` : last;
  const cmd = ["XREVRANGE", keys.stream, top, "-", "COUNT", String(count)];
  const entries = await client.sendCommand<Entry[]>(cmd).catch(noGroup);
  const rows = await Promise.all(
    entries.map(([id]) =>
      client.sendCommand<PendingRow[]>(["XPENDING", keys.stream, GROUP, id, id, "1"]),
    ),
  );
  return rows.flatMap((r) => (r[0] ? [r[0]] : []));
}

/**
 * A sorted set of job ids, a page of it: the delayed set by due ms, `children` (jobs waiting for
 * their parents) by enqueue ms; each with its record's task and attempts used.
 */
async function scoredPage(
  client: Redis,
  keys: QueueKeys,
  set: string,
  pos: string | null,
  count: number,
  oldest: boolean,
): Promise<Placed[]> {
  let from = 0;
  if (pos) {
    const space = pos.indexOf(" ");
    const [score, member] = [pos.slice(0, space), pos.slice(space + 1)];
    const rank = await client.sendCommand<number | null>([
      oldest ? "ZRANK" : "ZREVRANK",
      set,
      member,
    ]);
    // Gone since (promoted): go on from its due time instead.
    const range = oldest ? ["-inf", score] : [score, "+inf"];
    from =
      rank === null
        ? Number(await client.sendCommand(["ZCOUNT", set, ...range]))
        : Number(rank) + 1;
  }
  const flat = await client.sendCommand<string[]>([
    ...[oldest ? "ZRANGE" : "ZREVRANGE", set, String(from), String(from + count - 1)],
    "WITHSCORES",
  ]);
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  const records = await Promise.all(
    pairs.map(([id]) =>
      client.sendCommand<(string | null)[]>(["HMGET", keys.record(id), "t", "a"]).catch(() => []),
    ),
  );
  return pairs.map(([id, score], i) => {
    const [task, a] = records[i] ?? [];
    const used = num(a ?? undefined);
    const at = Number(score);
    const row = {
      id,
      task: task ?? "",
      at: Number.isFinite(at) ? at : null,
      attempt: used === null ? null : used + 1,
    };
    // A score written by hand may be no finite number (`inf`): it sorts as 0, never throws.
    const ms = Number.isFinite(at) ? BigInt(Math.trunc(at)) : 0n;
    return { row, pos: `${score} ${id}`, key: [ms, 0n] as [bigint, bigint] };
  });
}

const delayed: StateReader = (client, keys, pos, count, oldest) =>
  scoredPage(client, keys, keys.delayed, pos, count, oldest);

const waitingForParents: StateReader = (client, keys, pos, count, oldest) =>
  scoredPage(client, keys, keys.children, pos, count, oldest);

/** Finished, failed or canceled jobs: from the events of that `type` (ids in `id` or `ids`). */
function ended(type: string): StateReader {
  return async (client, keys, pos, count, oldest) => {
    const slash = pos ? pos.indexOf("/") : -1;
    let entry = pos ? pos.slice(0, slash) : null;
    let skip = pos ? Number(pos.slice(slash + 1)) : -1; // ids of `entry` shown already
    const out: Placed[] = [];
    for (;;) {
      const [start, end] = oldest ? [entry ?? "-", "+"] : [entry ?? "+", "-"];
      const read = await client.sendCommand<Entry[]>([
        ...[oldest ? "XRANGE" : "XREVRANGE", keys.events, start, end],
        ...["COUNT", String(EVENTS_CHUNK)],
      ]);
      for (const [entryId, flat] of read) {
        const f = fieldsOf(flat);
        const ids = f.get("type") === type ? (f.get("ids") ?? f.get("id") ?? "").split(",") : [];
        for (const [i, id] of ids.entries()) {
          if ((entryId === entry && i <= skip) || id === "") continue;
          const row = { id, task: "", at: Number(entryKey(entryId)[0]), attempt: null };
          out.push({ row, pos: `${entryId}/${i}`, key: entryKey(entryId) });
        }
      }
      const lastRead = read.at(-1)?.[0];
      if (out.length >= count || read.length < EVENTS_CHUNK || lastRead === undefined) break;
      [entry, skip] = [lastRead, Number.MAX_SAFE_INTEGER]; // the next chunk starts after it
    }
    const page = out.slice(0, count);
    await withOutcomes(
      client,
      keys,
      page.map((p) => p.row),
    );
    return page;
  };
}

/** Task and attempt of ended jobs, from the head of each outcome value (while it is kept). */
async function withOutcomes(client: Redis, keys: QueueKeys, rows: JobRow[]): Promise<void> {
  const heads = await Promise.all(
    rows.map((r) =>
      client
        .sendCommand<string | null>(["GETRANGE", keys.result(r.id), "0", String(OUTCOME_HEAD)])
        .catch(() => null),
    ),
  );
  for (const [i, head] of heads.entries()) {
    if (!head) continue;
    const [header = "", task = ""] = head.split("\n");
    const tokens = header.split(" ");
    // F<end> <run> <attempt> …, X<end> <run> <attempt> …, C<end> <attempt> … (docs/internals.md).
    if (head[0] === "F" || head[0] === "X") rows[i]!.attempt = num(tokens[2]);
    else if (head[0] === "C") rows[i]!.attempt = num(tokens[1]);
    try {
      const name = JSON.parse(task);
      if (typeof name === "string") rows[i]!.task = name;
    } catch {
      // a head cut inside the task's name, or a value of another form: task unknown
    }
  }
}

const dead: StateReader = async (client, keys, pos, count, oldest) => {
  const range = oldest
    ? ["XRANGE", keys.dead, pos ? `(${pos}` : "-", "+"]
    : ["XREVRANGE", keys.dead, pos ? `(${pos}` : "+", "-"];
  const entries = await client.sendCommand<[string, string[]][]>([
    ...range,
    "COUNT",
    String(count),
  ]);
  return entries.map((e) => {
    const l = toLetter(e);
    const row = { id: l.id, task: l.task, at: l.deadAt, attempt: l.attempts };
    return { row, pos: l.entryId, key: entryKey(l.entryId) };
  });
};

export const READERS: Record<JobState, StateReader> = {
  waiting,
  running,
  delayed,
  finished: ended("finished"),
  failed: ended("failed"),
  canceled: ended("canceled"),
  dead,
  "waiting-for-parents": waitingForParents,
};
