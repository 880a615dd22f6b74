// The live workers past a read's rows (WORKERS_READ, the latest heartbeats), counted, not
// listed, so that `info` and courier_workers_live count every worker, not the first 1,000,
// in a few calls however many names the workers set holds (300,000 stale ones took 298 pages
// of names and as many EXISTS every /metrics scrape).

import type { QueueKeys } from "../engine/keys.ts";
import type { Redis } from "../redis/connect.ts";
import { WORKERS_READ, type WorkerInfo } from "./workers.ts";

/** A worker's record lives six of its heartbeats past its last (lib/worker/presence.ts). */
const GONE_BEATS = 6;

/**
 * Live workers past `rows` (a full read of WORKERS_READ, taken just before: counted before any
 * prune, which removes rows and moves the names past them up into their places). A name past
 * the rows can be live only if it beat within six of its own intervals, so only those whose
 * beat is within six of the rows' longest interval are counted (one ZCOUNT): the first
 * WORKERS_READ of them by whether their record exists (one page of names, one EXISTS), as the
 * rows are judged; any more by their beat alone. Names older than that (gone workers) cost
 * nothing: the reads prune them, the oldest first (workers.ts pruneOldest).
 */
export async function workersBeyond(
  client: Redis,
  keys: QueueKeys,
  rows: readonly WorkerInfo[],
  now: number,
): Promise<number> {
  const longest = rows.reduce((most, w) => Math.max(most, w.heartbeatEveryMs), 0);
  const since = String(now - GONE_BEATS * longest);
  // The rows are the latest beats: when all of them are within the window, the rest of the
  // window's names are past them (ties included); when some are not, none past them is.
  const inWindow = await client.sendCommand<number>(["ZCOUNT", keys.workers, since, "+inf"]);
  const past = inWindow - WORKERS_READ;
  if (past <= 0) return 0;
  const page = Math.min(past, WORKERS_READ);
  const last = String(WORKERS_READ + page - 1);
  const range = ["ZRANGE", keys.workers, String(WORKERS_READ), last, "REV"];
  const names = await client.sendCommand<string[]>(range);
  if (names.length === 0) return 0;
  const exist = ["EXISTS", ...names.map((n) => keys.worker(n))];
  return (await client.sendCommand<number>(exist)) + (past - page);
}
