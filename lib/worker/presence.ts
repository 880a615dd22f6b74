// A worker's presence in the queue: its heartbeat in the workers set (for `info` and the
// dashboard), the tasks it serves, and leaving cleanly at shutdown.
import type { WorkerOptions } from "../config.ts";
import { dropEmptyHandover } from "../engine/handover.ts";
import { beat } from "../engine/heartbeat.ts";
import { GROUP, HANDOVER_SUFFIX, type QueueKeys } from "../engine/keys.ts";
import { holdName } from "../engine/name.ts";
import { releaseAll } from "../engine/release.ts";
import { serveTasks as serve } from "../engine/serve.ts";
import { UnavailableError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { HOLDER_WAIT_MAX_MS, HOST, holderGoneInMs, PID_NS } from "./name-holder.ts";

export interface WorkerCounts {
  inFlight: number;
  processed: number;
  failed: number;
}

/** A worker silent this long is gone: its hash expires then, and `info` prunes it. */
function goneAfterMs(o: Pick<WorkerOptions, "heartbeatEveryMs">): number {
  return o.heartbeatEveryMs * 6;
}

/** What a heartbeat found. */
export interface Beat {
  /** False when another start (`start`: this one's token, name.lua) holds the name. */
  held: boolean;
  /** Parked sets of another type (their keys): skipped, the other tasks' jobs moved. */
  corrupt: string[];
  /** Why taking back the parked jobs failed (Redis): for the caller, after acting on `held`. */
  serveFailed?: unknown;
}

/**
 * Records that the worker is alive, and which tasks it has; its hash expires if heartbeats stop
 * (a crash). Then takes back the jobs parked for its tasks (see serveTasks). `held` false: another
 * start holds the name, and nothing of the beat was written.
 */
export async function heartbeat(
  client: Redis,
  keys: QueueKeys,
  o: WorkerOptions & { start: string },
  counts: WorkerCounts,
  tasks: readonly string[],
  /**
   * Serve the tasks too (false once the worker stops: it reads no more, so it must neither mark
   * its tasks live nor bring parked jobs back to a stream, while its beats keep its hash alive).
   */
  serving = true,
): Promise<Beat> {
  // seen_at and the score are Redis' time (heartbeat.lua); beat_ms lets `info` judge this
  // worker by its own interval.
  const fields = {
    host: HOST,
    pid: process.pid,
    pid_ns: PID_NS,
    concurrency: o.concurrency,
    in_flight: counts.inFlight,
    processed: counts.processed,
    failed: counts.failed,
    beat_ms: o.heartbeatEveryMs,
    tasks: JSON.stringify(tasks),
  };
  // A level's view (keys.level) beats nowhere: the worker's hash and place in `workers` are the
  // shard's, written by its normal view. Its tasks hash and parked sets are its own. The beat's
  // answer (the name taken?) never depends on serving: a failure there comes with it.
  const [beaten, served] = await Promise.allSettled([
    keys.level ? true : beat(client, keys, { ...beatOf(o), fields }),
    serving ? serveTasks(client, keys, tasks, goneAfterMs(o)) : { corrupt: [] },
  ]);
  if (beaten.status === "rejected") throw beaten.reason;
  if (served.status === "rejected") {
    return { held: beaten.value, corrupt: [], serveFailed: served.reason };
  }
  return { held: beaten.value, corrupt: served.value.corrupt };
}

function beatOf(o: WorkerOptions & { start: string }) {
  return { name: o.name, start: o.start, ttlMs: goneAfterMs(o) };
}

/**
 * Takes the worker's name, or throws UnavailableError naming the live worker that holds it. A hash
 * left by a worker on this host whose process is gone (killed, then restarted with the same
 * --name) is taken over at once rather than after its heartbeat expires. `start` (this start's
 * token) goes in the hash: a stalled process whose name this start took finds out by it.
 */
export async function claimName(
  client: Redis,
  keys: QueueKeys,
  o: WorkerOptions,
  start: string,
  log: Logger,
): Promise<void> {
  if (keys.level) return; // the shard's normal view claims it: name.lua would refuse a second
  const key = keys.worker(o.name);
  // Two starts of one name in this process, at once: the second must not see the first's
  // record (our own pid, not yet RUNNING) as a dead predecessor's and take it over.
  if (RUNNING.has(key) || CLAIMING.has(key)) {
    throw new UnavailableError(
      `a worker named "${o.name}" is already running in this process: give this one another name`,
    );
  }
  CLAIMING.add(key);
  try {
    await claim(client, key, o, start, log);
  } finally {
    CLAIMING.delete(key);
  }
}

/** The consumer a predecessor's entries are moved to (see handOverPredecessor). */
function predecessorOf(name: string): string {
  return `${name}${HANDOVER_SUFFIX}`;
}

/**
 * Entries pending on this worker's name when it starts are a predecessor's: a process that ran
 * under the same name and died (SIGKILL, OOM; the stack restarts stack-worker-<i>). They are
 * moved, unread and about as idle as they were, to another consumer, so that a claim (this
 * worker's or any other's) takes them over as lapsed leases and counts the runs that killed the
 * predecessor (docs/internals.md, "3. Start"): a job that kills every worker still stops after
 * maxAttempts. Claims never take a worker's own entries, and re-reading them counts nothing.
 * XCLAIM … JUSTID bumps no delivery count. The handover consumer is deleted once nothing is
 * pending on it (here, and by the claim that empties it). Returns how many were handed over.
 */
export async function handOverPredecessor(
  client: Redis,
  keys: QueueKeys,
  name: string,
): Promise<number> {
  const ghost = predecessorOf(name);
  let moved = 0;
  for (;;) {
    const pending = await client.sendCommand<[string, string, number, number][]>([
      ...["XPENDING", keys.stream, GROUP, "-", "+", "1000", name],
    ]);
    if (pending.length > 0) {
      // One XCLAIM per page, whose IDLE is one value for all: the page's smallest, so none is
      // claimable sooner than it was, the rest later by the spread of their idle times (about
      // one lease renewal: lease.lua renews all of a worker's entries at once).
      const idle = Math.min(...pending.map(([, , ms]) => Number(ms)));
      const entries = pending.map(([entry]) => entry);
      const to = [keys.stream, GROUP, ghost, "0", ...entries, "IDLE", String(idle), "JUSTID"];
      await client.sendCommand(["XCLAIM", ...to]);
    }
    moved += pending.length;
    if (pending.length < 1000) break;
  }
  // Empty (nothing moved, its earlier entries all taken): out of the group (handover.lua).
  await dropEmptyHandover(client, keys, ghost);
  return moved;
}

async function claim(
  client: Redis,
  key: string,
  o: WorkerOptions,
  start: string,
  log: Logger,
): Promise<void> {
  const beatMs = o.heartbeatEveryMs;
  const name = {
    host: HOST,
    pid: process.pid,
    ttlMs: goneAfterMs(o),
    start,
    pidNs: PID_NS,
    beatMs,
  };
  // One wait for a holder we cannot see to fall silent, one takeover: a holder met after either
  // is alive (it beat meanwhile, or took the name as we deleted the dead one's hash).
  let waited = false;
  for (let deleted = false; ; ) {
    const held = await holdName(client, key, name);
    if (held === null) {
      RUNNING.add(key);
      return;
    }
    const goneInMs = deleted ? null : holderGoneInMs(held, (pid) => processAlive(pid, key), beatMs);
    if (goneInMs === 0) {
      await client.sendCommand(["DEL", key]);
      deleted = true;
      continue;
    }
    if (goneInMs !== null && !waited && goneInMs <= HOLDER_WAIT_MAX_MS) {
      waited = true;
      // A wait of up to HOLDER_WAIT_MAX_MS with nothing said would read as a hung start.
      log.log("info", "waiting for the name's holder to fall silent", {
        worker: o.name,
        holder: `${held.host ?? "?"} pid ${held.pid ?? "?"} (another pid namespace)`,
        wait_ms: goneInMs + 50,
      });
      await Bun.sleep(goneInMs + 50); // past its second missed beat, by Redis' clock or close
      continue;
    }
    const { host, pid, agoMs } = held;
    const ago = agoMs === null ? "" : `, last heartbeat ${agoMs} ms ago`;
    throw new UnavailableError(
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
 * Says which tasks this worker has (alive until 6 heartbeats from Redis' TIME), and moves the
 * jobs parked for them (taken while no live worker had their task) back to the stream, 1,000
 * per task and call (fewer once the records a call read reach 1 MiB), until none is left. A parked set of another type is skipped (the other
 * tasks' jobs still move, all of them) and its key returned in `corrupt`, for the caller to
 * log: a throw would leave the other tasks' jobs and the beat's answer behind.
 */
export async function serveTasks(
  client: Redis,
  keys: QueueKeys,
  tasks: readonly string[],
  aliveMs: number,
): Promise<{ moved: number; corrupt: string[] }> {
  let moved = 0;
  const corrupt = new Set<string>();
  for (;;) {
    const served = await serve(client, keys, tasks, aliveMs);
    moved += served.moved;
    for (const task of served.corrupt ?? []) corrupt.add(`${keys.parkedPrefix}${task}`);
    if (!served.more) return { moved, corrupt: [...corrupt] };
  }
}

/**
 * Releases the consumer's pending entries (fresh entries for the same jobs, ready at once, the
 * unfinished run not counted as an attempt), then removes it from the group and the workers
 * set, and deletes its hash: in release.lua, which does nothing when the hash names another
 * start than `start` (a later start took the name while this process stalled: the entries
 * pending on the name are that start's). Returns how many jobs were released, or null then.
 */
export async function leave(
  client: Redis,
  keys: QueueKeys,
  name: string,
  start: string,
): Promise<number | null> {
  // A level's view releases its own stream only: the name is the normal view's.
  if (keys.level) return releaseAll(client, keys, name, { most: 10_000, start });
  forgetName(keys, name); // first: a leave that fails (Redis away) still frees the name here
  return releaseAll(client, keys, name, { most: 10_000, start, leave: true });
}
