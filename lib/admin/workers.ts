// The workers of a queue, from their heartbeats: the workers set (scored by last heartbeat)
// and one hash per worker. Each is judged by its own heartbeat interval (`beat_ms` in its hash)
// and Redis' clock (`now` is Redis' TIME; the beats are Redis' times too): late after two
// missed beats; gone once its hash has expired (six beats, Redis' own expiry decides), shown
// once as such and pruned (prune.lua), so the set does not grow with every crash. A worker's
// key of another type (another program's, or corrupt) is that worker's row alone, unreadable.

import { defaults, INTERVAL_LIMIT_MS } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { pruneGone } from "../engine/prune.ts";
import { wrongTypeAs } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { cutText, ID_SHOWN_MAX } from "../safe-text.ts";
import { workersBeyond } from "./workers-beyond.ts";

/** unreadable: its record's key holds another type than Courier writes (`unreadable` says which). */
export type WorkerState = "busy" | "idle" | "late" | "gone" | "unreadable";

export interface WorkerInfo {
  name: string;
  host: string | null;
  pid: number | null;
  concurrency: number | null;
  /** null when its record does not say (or holds no whole number there). */
  inFlight: number | null;
  /** Jobs this worker process finished (its count since it started). */
  processed: number;
  /** Attempts that failed in this worker process. */
  failed: number;
  /** Since its last heartbeat, ms. */
  lastHeartbeatMs: number;
  /** busy or idle; late after two missed heartbeats; gone once its record has expired. */
  state: WorkerState;
  /** Its heartbeat interval, ms (the default for a worker whose record does not say). */
  heartbeatEveryMs: number;
  /** The tasks it has (empty when its record does not say). */
  tasks: string[];
  /** Present when its record's key holds another type: the key, and what that means. */
  unreadable?: string;
}

/** Counted as live (info's `N live`, /metrics' courier_workers_live): neither gone nor unreadable. */
export function isLive(w: WorkerInfo): boolean {
  return w.state !== "gone" && w.state !== "unreadable";
}

/**
 * Workers a read lists (its rows: the latest heartbeats first); those past them are counted,
 * not listed (workersBeyond), so a read stays bounded however many beat.
 */
export const WORKERS_READ = 1_000;

/** A worker is late after two missed beats of its own interval. */
const LATE_BEATS = 2;

/** A read of a queue's (shard's) workers: its rows, and the live workers past them. */
export interface WorkersRead {
  rows: WorkerInfo[];
  /** Live workers past the rows (workers-beyond.ts); 0 unless counted and the rows are full. */
  beyond: number;
}

/**
 * Lists the workers (busiest first); with `count`, the live ones past the rows counted too;
 * with `prune`, gone ones are removed afterwards. `now`: Redis' time (lib/redis/clock.ts), the
 * clock the beats were written with.
 */
export async function readWorkersCounted(
  client: Redis,
  keys: QueueKeys,
  now: number,
  o: { prune: boolean; count: boolean },
): Promise<WorkersRead> {
  const flat = await client.sendCommand<string[]>([
    "ZRANGE",
    keys.workers,
    "0",
    String(WORKERS_READ - 1),
    "REV",
    "WITHSCORES",
  ]);
  const names: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) names.push([flat[i]!, Number(flat[i + 1])]);
  // One worker's key of another type is its own row (unreadable), never the whole list's.
  const records = await Promise.all(
    names.map(([name]) => readRecord(client, keys.worker(name)).catch(wrongTypeAs(null))),
  );
  const workers = names.map(([name, beat], i) => {
    const record = records[i];
    if (!record) {
      // The key said with its name cut past any worker's (a 1 MB name written by hand made
      // info's row and each dashboard snapshot 1 MB).
      const key = keys.worker(cutText(name, ID_SHOWN_MAX));
      return unreadableWorker(name, key, Math.max(0, now - beat));
    }
    return toWorker(name, beat, record, now);
  });
  const full = names.length === WORKERS_READ;
  // Counted before the prune: counted after it, by index, the names that moved up into the
  // pruned rows' places were skipped (info said 1040 live of 1200).
  const beyond = o.count && full ? await workersBeyond(client, keys, workers, now) : 0;
  const gone = workers.filter((w) => w.state === "gone").map((w) => w.name);
  if (o.prune && gone.length > 0) {
    await pruneGone(client, keys, gone);
  }
  // Past the rows, never listed (so never "shown once"): by every read, /metrics' too, which
  // prunes no row; else a queue only scraped kept every gone name for ever.
  if (full) await pruneOldest(client, keys, new Set(names.map(([name]) => name)));
  const rows = workers.sort(
    (a, b) => (b.inFlight ?? 0) - (a.inFlight ?? 0) || a.name.localeCompare(b.name),
  );
  return { rows, beyond };
}

/** The rows of readWorkersCounted alone (none past them counted). */
export async function readWorkers(
  client: Redis,
  keys: QueueKeys,
  now: number,
  prune: boolean,
): Promise<WorkerInfo[]> {
  return (await readWorkersCounted(client, keys, now, { prune, count: false })).rows;
}

/** The record's fields a row shows (lib/worker/presence.ts writes them). */
const SHOWN_FIELDS = [
  "host",
  "pid",
  "concurrency",
  "in_flight",
  "processed",
  "failed",
  "beat_ms",
  "tasks",
] as const;

/** A worker's record: the fields a row shows, and whether its hash exists. */
interface WorkerRecord {
  fields: Map<string, string>;
  exists: boolean;
}

/**
 * The fields a row shows (HMGET), not the whole hash: a record written by hand can hold any
 * field of any size, and HGETALL read a 10 MB one into every dashboard snapshot. A record with
 * none of them is asked whether it exists (one EXISTS): gone only when it does not.
 */
async function readRecord(client: Redis, key: string): Promise<WorkerRecord> {
  const values = await client.sendCommand<(string | null)[]>(["HMGET", key, ...SHOWN_FIELDS]);
  const fields = new Map<string, string>();
  SHOWN_FIELDS.forEach((f, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) fields.set(f, v);
  });
  if (fields.size > 0) return { fields, exists: true };
  return { fields, exists: (await client.sendCommand<number>(["EXISTS", key])) === 1 };
}

/** The oldest heartbeats looked at per read for gone workers past the rows (pruneOldest). */
const PRUNE_OLDEST = 100;

/**
 * Past the rows (a set of WORKERS_READ or more) the oldest heartbeats, which the rows never
 * reach, are handed to prune.lua, which removes those whose record is gone: else, with a
 * thousand workers beating, gone ones were never pruned and the set (and the group's
 * consumers) grew with every restart under new names. Each read prunes at most this many, so
 * a set of 300,000 stale names shrinks over many reads, each bounded.
 */
async function pruneOldest(client: Redis, keys: QueueKeys, rows: Set<string>): Promise<void> {
  const range = ["ZRANGE", keys.workers, "0", String(PRUNE_OLDEST - 1)];
  // A row is not among them (a set of barely more than the rows): its read shows it gone once.
  const oldest = (await client.sendCommand<string[]>(range)).filter((n) => !rows.has(n));
  if (oldest.length > 0) await pruneGone(client, keys, oldest);
}

function toWorker(name: string, beat: number, record: WorkerRecord, now: number): WorkerInfo {
  const h = record.fields;
  // A field that holds no whole number (written by hand, or corrupt) is unknown: never NaN.
  const num = (k: string) => {
    const v = h.get(k);
    return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : null;
  };
  const age = Math.max(0, now - beat);
  const inFlight = num("in_flight");
  // No interval longer than a worker may have (config.ts), and a beat in the future is as far
  // off as one in the past: else a record saying so would keep a dead worker live for ever.
  const beatMs = Math.min(num("beat_ms") || defaults.heartbeatEveryMs, INTERVAL_LIMIT_MS);
  const late = Math.abs(now - beat) > LATE_BEATS * beatMs;
  // No hash: it expired, six of the worker's own beats after its last one.
  const state: WorkerState = !record.exists
    ? "gone"
    : late
      ? "late"
      : (inFlight ?? 0) > 0
        ? "busy"
        : "idle";
  return {
    name,
    host: h.get("host") ?? null,
    pid: num("pid"),
    concurrency: num("concurrency"),
    inFlight,
    processed: num("processed") ?? 0,
    failed: num("failed") ?? 0,
    lastHeartbeatMs: age,
    state,
    heartbeatEveryMs: beatMs,
    tasks: parseTasks(h.get("tasks")),
  };
}

/** A worker whose record's key `key` holds another type: its name and last beat, nothing else. */
function unreadableWorker(name: string, key: string, age: number): WorkerInfo {
  return {
    name,
    host: null,
    pid: null,
    concurrency: null,
    inFlight: null,
    processed: 0,
    failed: 0,
    lastHeartbeatMs: age,
    state: "unreadable",
    heartbeatEveryMs: defaults.heartbeatEveryMs,
    tasks: [],
    unreadable: `key ${key} holds another type, not the hash Courier writes: delete that key, or give Courier its own --prefix`,
  };
}

/** The worker hash's `tasks` (a JSON array of names, lib/worker/presence.ts); [] when unreadable. */
function parseTasks(value: string | undefined): string[] {
  try {
    const tasks: unknown = JSON.parse(value ?? "[]");
    return Array.isArray(tasks) ? tasks.filter((t) => typeof t === "string") : [];
  } catch {
    return [];
  }
}
