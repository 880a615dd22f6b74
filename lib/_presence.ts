// A worker's presence in the queue: its heartbeat in the workers set (for `info` and the
// dashboard), moving due retries back to the stream, and leaving cleanly at shutdown.
import { hostname } from "node:os";
import { runScript, scripts } from "./_scripts.ts";
import type { WorkerOptions } from "./config.ts";
import type { Redis } from "./connect.ts";
import { GROUP, type QueueKeys } from "./keys.ts";

const HOST = hostname();

export interface WorkerCounts {
  inFlight: number;
  processed: number;
  failed: number;
}

/** Records that the worker is alive; its hash expires if heartbeats stop (a crash). */
export async function heartbeat(
  client: Redis,
  keys: QueueKeys,
  o: WorkerOptions,
  counts: WorkerCounts,
): Promise<void> {
  const key = keys.worker(o.name);
  const now = String(o.now());
  const fields = {
    host: HOST,
    pid: process.pid,
    concurrency: o.concurrency,
    in_flight: counts.inFlight,
    processed: counts.processed,
    failed: counts.failed,
    seen_at: now,
  };
  const args = [now, o.name, o.heartbeatEveryMs * 6, ...Object.entries(fields).flat()];
  await runScript(client, scripts.heartbeat, [keys.workers, key], args.map(String));
}

/** Moves jobs whose back-off is over from the delayed set to the stream. */
export function promoteDue(client: Redis, keys: QueueKeys, o: WorkerOptions): Promise<unknown> {
  const args = [keys.jobPrefix, o.now(), 1_000];
  return runScript(client, scripts.promote, [keys.delayed, keys.stream], args);
}

/**
 * Releases the consumer's pending entries (fresh entries for the same jobs, ready at once),
 * then removes it from the group and the workers set. Returns how many jobs were released.
 */
export async function leave(client: Redis, keys: QueueKeys, name: string): Promise<number> {
  const limit = 10_000;
  let released = 0;
  for (;;) {
    const args = [keys.jobPrefix, GROUP, name, limit];
    const [n, handled] = await runScript<[number, number]>(
      client,
      scripts.release,
      [keys.stream],
      args,
    );
    released += n;
    // Fewer than `limit` handled: nothing is left pending, and the script has left the group.
    if (handled < limit) break;
  }
  await Promise.all([
    client.sendCommand(["ZREM", keys.workers, name]),
    client.sendCommand(["DEL", keys.worker(name)]),
  ]);
  return released;
}
