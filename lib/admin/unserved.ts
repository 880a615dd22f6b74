// Tasks whose jobs wait because no live worker has them (parked: docs/internals.md, "3. Start"),
// from a queue's tasks hash, a page at a time (HSCAN): the first UNSERVED_TASKS_SHOWN by name
// and how many in all, for info and the dashboard, and the parked jobs' count, for /metrics;
// read per part (a shard, a priority level: each has its own tasks hash) and merged.

import { ALIVE_WINDOW_MOST_MS } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";

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
  /** Jobs in every parked set read, a live worker's task or not (its next beat serves them). */
  parked: number;
}

/** Fields of the tasks hash read per call (HSCAN's COUNT hint). */
const TASKS_PAGE = 1_000;

/**
 * Tasks with parked jobs and no live worker that has them, from the queue's tasks hash, a page
 * at a time (HSCAN of its `parked:` fields, then one HMGET of those tasks' `alive_until:`):
 * the first UNSERVED_TASKS_SHOWN by name are kept and the others counted, so what is held stays
 * a page however many task names jobs were parked for. (HSCAN may return a field twice while
 * Redis rehashes the hash: the total may then count a task twice, and `parked` its jobs; the list
 * never shows one twice.)
 */
export async function readUnservedTasks(
  client: Redis,
  keys: QueueKeys,
  now: number,
  most = UNSERVED_TASKS_SHOWN,
): Promise<UnservedTasks> {
  const first = new FirstByName(most);
  let total = 0;
  let parkedJobs = 0;
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
      // A count no script writes (by hand: `1e400`, `2.5`, `0x10`) is no count: its task left
      // out, as `abc`'s always was (read as a number, `info` said "Infinity jobs wait").
      const raw = flat[i + 1]!;
      const jobs = /^\d{1,15}$/.test(raw) ? Number(raw) : 0;
      if (jobs === 0) continue;
      parked.push({ task: flat[i]!.slice(7), jobs });
      parkedJobs += jobs;
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
  return { shown: first.list(), total, parked: parkedJobs };
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

/**
 * Unserved tasks read apart (a queue's shards, a shard's priority levels) as one: the first
 * UNSERVED_TASKS_SHOWN by name of them all (each among its part's first that many, so its jobs
 * summed over them are all its jobs), their total less the tasks two parts both listed (exact
 * when each part listed all of its own, else at most that: a task unserved in two parts,
 * unlisted in both, counts twice), and the parked jobs summed.
 */
export function mergeUnserved(parts: readonly UnservedTasks[]): UnservedTasks {
  const listed = parts.flatMap((c) => c.shown);
  const summed = sumBy(
    listed,
    (u) => u.task,
    (u) => u.jobs,
  );
  const total = parts.reduce((n, c) => n + c.total, 0);
  return {
    shown: summed.slice(0, UNSERVED_TASKS_SHOWN).map(([task, jobs]) => ({ task, jobs })),
    total: total - (listed.length - summed.length),
    parked: parts.reduce((n, c) => n + c.parked, 0),
  };
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

function sumBy<T>(items: readonly T[], key: (t: T) => string, value: (t: T) => number) {
  const sums = new Map<string, number>();
  for (const t of items) sums.set(key(t), (sums.get(key(t)) ?? 0) + value(t));
  return [...sums].sort((a, b) => a[0].localeCompare(b[0]));
}
