// A worker's presence in the queue: its heartbeat in the workers set (for `info` and the
// dashboard), moving due retries back to the stream, and leaving cleanly at shutdown.
import { hostname } from "node:os";
import type { WorkerOptions } from "../config.ts";
import { beat, holdName, promoteJobs, releaseAll, serveParked } from "../engine/calls/worker.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { ConfigError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";

const HOST = hostname();

export interface WorkerCounts {
  inFlight: number;
  processed: number;
  failed: number;
}

/** A worker silent this long is gone: its hash expires then, and `info` prunes it. */
export function goneAfterMs(o: Pick<WorkerOptions, "heartbeatEveryMs">): number {
  return o.heartbeatEveryMs * 6;
}

/**
 * Records that the worker is alive, and which tasks it has; its hash expires if heartbeats stop
 * (a crash). Then takes back the jobs parked for its tasks (see serveTasks).
 */
export async function heartbeat(
  client: Redis,
  keys: QueueKeys,
  o: WorkerOptions,
  counts: WorkerCounts,
  tasks: readonly string[],
): Promise<void> {
  // seen_at and the score are Redis' time (heartbeat-2.lua); beat_ms lets `info` judge this
  // worker by its own interval.
  const fields = {
    host: HOST,
    pid: process.pid,
    concurrency: o.concurrency,
    in_flight: counts.inFlight,
    processed: counts.processed,
    failed: counts.failed,
    beat_ms: o.heartbeatEveryMs,
    tasks: JSON.stringify(tasks),
  };
  await Promise.all([
    beat(client, keys, { name: o.name, ttlMs: goneAfterMs(o), fields }),
    serveTasks(client, keys, tasks, goneAfterMs(o)),
  ]);
}

/**
 * Takes the worker's name, or throws ConfigError naming the live worker that holds it. A hash
 * left by a worker on this host whose process is gone (killed, then restarted with the same
 * --name) is taken over at once rather than after its heartbeat expires.
 */
export async function claimName(client: Redis, keys: QueueKeys, o: WorkerOptions): Promise<void> {
  const key = keys.worker(o.name);
  // Two starts of one name in this process, at once: the second must not see the first's
  // record (our own pid, not yet RUNNING) as a dead predecessor's and take it over.
  if (RUNNING.has(key) || CLAIMING.has(key)) {
    throw new ConfigError(
      `a worker named "${o.name}" is already running in this process: give this one another name`,
    );
  }
  CLAIMING.add(key);
  try {
    await claim(client, key, o);
  } finally {
    CLAIMING.delete(key);
  }
}

async function claim(client: Redis, key: string, o: WorkerOptions): Promise<void> {
  const name = { host: HOST, pid: process.pid, ttlMs: goneAfterMs(o) };
  for (let tries = 0; ; tries++) {
    const held = await holdName(client, key, name);
    if (held === null) {
      RUNNING.add(key);
      return;
    }
    const { host, pid, agoMs } = held;
    if (tries === 0 && host === HOST && pid && !processAlive(Number(pid), key)) {
      await client.sendCommand(["DEL", key]);
      continue;
    }
    const ago = agoMs === null ? "" : `, last heartbeat ${agoMs} ms ago`;
    throw new ConfigError(
      `a worker named "${o.name}" is already running (host ${host ?? "?"}, pid ${pid ?? "?"}${ago}): give this one another --name, or stop that one`,
    );
  }
}

/**
 * The worker names (their hash keys) this process runs now. A record with this host and our own
 * pid is ours only if the name is here: otherwise it was left by an earlier process that had
 * the same pid, typically a container restarted after a crash (pid 1 again, same host name),
 * which must take its name back at once, not be refused "already running" until it expires.
 */
const RUNNING = new Set<string>();
/** Names this process is claiming right now (a start in flight). */
const CLAIMING = new Set<string>();

/** Forgets that this process runs the name (a stop, or a start that failed after claiming it). */
export function forgetName(keys: QueueKeys, name: string): void {
  RUNNING.delete(keys.worker(name));
}

function processAlive(pid: number, key: string): boolean {
  if (pid === process.pid) return RUNNING.has(key);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM"; // alive, owned by another user
  }
}

/**
 * Says which tasks this worker has, and moves the jobs parked for them (taken while no live
 * worker had their task) back to the stream. Returns how many it moved.
 */
export async function serveTasks(
  client: Redis,
  keys: QueueKeys,
  tasks: readonly string[],
  aliveMs: number,
): Promise<number> {
  const most = 1_000;
  let moved = 0;
  for (;;) {
    const served = await serveParked(client, keys, { most, aliveMs, tasks });
    moved += served.moved;
    if (served.fullest < most) return moved;
  }
}

/** Moves jobs whose back-off is over from the delayed set to the stream. */
export function promoteDue(client: Redis, keys: QueueKeys): Promise<number> {
  return promoteJobs(client, keys, { most: 1_000 });
}

/**
 * Releases the consumer's pending entries (fresh entries for the same jobs, ready at once),
 * then removes it from the group and the workers set. Returns how many jobs were released.
 * `boot`: the worker's boot id; only attempts started with it are given back (release-1.lua).
 */
export async function leave(
  client: Redis,
  keys: QueueKeys,
  name: string,
  boot: string,
): Promise<number> {
  forgetName(keys, name); // first: a leave that fails (Redis away) still frees the name here
  const most = 10_000;
  let released = 0;
  for (;;) {
    const r = await releaseAll(client, keys, { consumer: name, boot, most });
    released += r.released;
    // Fewer than `most` handled: nothing is left pending, and the script has left the group.
    if (r.handled < most) break;
  }
  await Promise.all([
    client.sendCommand(["ZREM", keys.workers, name]),
    client.sendCommand(["DEL", keys.worker(name)]),
  ]);
  return released;
}
