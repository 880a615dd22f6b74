// The workers of a queue, from their heartbeats: the workers set (scored by last heartbeat)
// and one hash per worker. Each is judged by its own heartbeat interval (`beat_ms` in its hash)
// and Redis' clock (`now` is Redis' TIME; the beats are Redis' times too): late after two
// missed beats; gone once its hash has expired (six beats, Redis' own expiry decides), shown
// once as such and pruned (prune.lua), so the set does not grow with every crash. A worker's
// key of another type (another program's, or corrupt) is that worker's row alone, unreadable.

import { ALIVE_WINDOW_MOST_MS, defaults, INTERVAL_LIMIT_MS } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { pruneGone } from "../engine/prune.ts";
import { wrongTypeAs } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { cutText, ID_SHOWN_MAX } from "../safe-text.ts";

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

/** A worker is late after two missed beats of its own interval. */
const LATE_BEATS = 2;
/**
 * Lists the workers (busiest first); with `prune`, gone ones are removed afterwards. `now`:
 * Redis' time (lib/redis/clock.ts), the clock the beats were written with.
 */
export async function readWorkers(
  client: Redis,
  keys: QueueKeys,
  now: number,
  prune: boolean,
): Promise<WorkerInfo[]> {
  const flat = await client.sendCommand<string[]>([
    "ZRANGE",
    keys.workers,
    "0",
    "999",
    "REV",
    "WITHSCORES",
  ]);
  const names: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) names.push([flat[i]!, Number(flat[i + 1])]);
  // One worker's key of another type is its own row (unreadable), never the whole list's.
  const hashes = await Promise.all(
    names.map(([name]) =>
      client.sendCommand<string[] | null>(["HGETALL", keys.worker(name)]).catch(wrongTypeAs(null)),
    ),
  );
  const workers = names.map(([name, beat], i) => {
    const flat = hashes[i];
    if (flat === null) {
      // The key said with its name cut past any worker's (a 1 MB name written by hand made
      // info's row and each dashboard snapshot 1 MB).
      const key = keys.worker(cutText(name, ID_SHOWN_MAX));
      return unreadableWorker(name, key, Math.max(0, now - beat));
    }
    return toWorker(name, beat, flat ?? [], now);
  });
  const gone = workers.filter((w) => w.state === "gone").map((w) => w.name);
  if (prune && gone.length > 0) {
    await pruneGone(client, keys, gone);
  }
  return workers.sort(
    (a, b) => (b.inFlight ?? 0) - (a.inFlight ?? 0) || a.name.localeCompare(b.name),
  );
}

function toWorker(name: string, beat: number, flat: string[], now: number): WorkerInfo {
  const h = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) h.set(flat[i]!, flat[i + 1]!);
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
  const state: WorkerState =
    h.size === 0 ? "gone" : late ? "late" : (inFlight ?? 0) > 0 ? "busy" : "idle";
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

/**
 * Unserved tasks listed per queue (info, the dashboard's snapshot): the first this many by name,
 * with how many there are in all; a task name is anyone's, and 100,000 of them made every
 * snapshot 11 MB.
 */
export const UNSERVED_TASKS_SHOWN = 20;

/** Jobs waiting for a task that no live worker has (parked: see lib/engine/lua/leave.lua). */
export interface UnservedTask {
  task: string;
  jobs: number;
}

/** The tasks no live worker has: the first UNSERVED_TASKS_SHOWN by name, and how many in all. */
export interface UnservedTasks {
  shown: UnservedTask[];
  total: number;
}

/** Fields of the tasks hash read per call (HSCAN's COUNT hint). */
const TASKS_PAGE = 1_000;

/**
 * Tasks with parked jobs and no live worker that has them, from the queue's tasks hash, a page
 * at a time (HSCAN of its `parked:` fields, then one HMGET of those tasks' `alive_until:`):
 * the first UNSERVED_TASKS_SHOWN by name are kept and the others counted, so what is held stays
 * a page however many task names jobs were parked for. (HSCAN may return a field twice while
 * Redis rehashes the hash: the total may then count a task twice; the list never shows one twice.)
 */
export async function readUnservedTasks(
  client: Redis,
  keys: QueueKeys,
  now: number,
  most = UNSERVED_TASKS_SHOWN,
): Promise<UnservedTasks> {
  const first = new FirstByName(most);
  let total = 0;
  let cursor = "0";
  do {
    const [next, flat] = await client.sendCommand<[string, string[]]>([
      "HSCAN",
      keys.tasks,
      cursor,
      "MATCH",
      "parked:*",
      "COUNT",
      String(TASKS_PAGE),
    ]);
    cursor = next;
    const parked: UnservedTask[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const jobs = Number(flat[i + 1]);
      if (jobs > 0) parked.push({ task: flat[i]!.slice(7), jobs });
    }
    if (parked.length === 0) continue;
    const until = await client.sendCommand<(string | null)[]>([
      "HMGET",
      keys.tasks,
      ...parked.map((p) => `alive_until:${p.task}`),
    ]);
    // Both Redis' time: the until was written by serve.lua from TIME and its worker's interval.
    parked.forEach((p, i) => {
      if (taskLive(until[i], now)) return;
      total++;
      first.offer(p);
    });
  } while (cursor !== "0");
  return { shown: first.list(), total };
}

/**
 * Whether a task's `alive_until:<task>` says a live worker has it at `now` (Redis' ms): a time
 * not past, and not past any worker's beat (ALIVE_WINDOW_MOST_MS: a hand edit's `inf` or year
 * 3000 is no worker's), as leave.lua reads it (include/alive.lua).
 */
export function taskLive(until: string | null | undefined, now: number): boolean {
  const at = Number(until ?? Number.NaN);
  return at >= now && at <= now + ALIVE_WINDOW_MOST_MS;
}

/** The first `most` tasks by name of those offered (a name offered twice is kept once). */
class FirstByName {
  #kept: UnservedTask[] = [];

  constructor(private readonly most: number) {}

  offer(t: UnservedTask): void {
    const kept = this.#kept;
    if (this.most === 0) return;
    const last = kept[kept.length - 1];
    if (kept.length >= this.most && last && last.task.localeCompare(t.task) <= 0) return;
    if (kept.some((k) => k.task === t.task)) return;
    const at = kept.findIndex((k) => k.task.localeCompare(t.task) > 0);
    kept.splice(at === -1 ? kept.length : at, 0, t);
    if (kept.length > this.most) kept.pop();
  }

  list(): UnservedTask[] {
    return [...this.#kept];
  }
}
