// The jobs a Queue has just enqueued, each with the events stream's cursor its enqueue read in
// the same script call (lib/engine/enqueue.ts), or just before it on the same connection (a
// plain job's: lib/engine/enqueue-plain.ts): a wait for them starts its blocking read of the
// events there, skipping its first look at their state (lib/queue/wait.ts, waitForJobs). That
// look (the cursor read and the status script) runs while a worker runs the job, and on a
// machine of few cores takes CPU from it: docs/performance.md, "Latency, one job at a time".

import type { EnqueueReply } from "../engine/enqueue.ts";
import { entryOfAutoId, isAutoId } from "../engine/keys.ts";
import { READ_BEHIND_MAX } from "./wait.ts";

/** Ids kept at most: the oldest go first, so memory stays bounded whatever is enqueued. */
const KEPT = 1_024;
/**
 * A remembered job is used for this long after its enqueue returned. Past it the wait looks
 * first, as for any id: a job's outcome may then have expired (`resultTtlS` is at least 1 s),
 * and only the look tells an expired outcome from none yet at once.
 */
const FRESH_MS = 500;

export class RecentJobs {
  #jobs = new Map<string, { cursor: string; shard: number; atMs: number }>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Remembers the created jobs of a batch a wait may follow (at most READ_BEHIND_MAX jobs: a
   * bulk enqueue pays nothing). Auto ids only: one is never issued twice, so no outcome or
   * event of it can predate its enqueue; a caller id's outcome may outlive its record, the
   * marker, and so be older than the job just enqueued under that id. The cursor is of the
   * events stream of the shard the batch went to (`shard`).
   */
  remember(reply: EnqueueReply, shard = 0): void {
    const { jobs, eventsCursor: cursor } = reply;
    if (cursor === null || jobs.length > READ_BEHIND_MAX) return;
    const atMs = this.#now();
    for (const j of jobs) {
      if (!j.created || j.entryId === null || !isAutoId(j.id)) continue;
      if (entryOfAutoId(j.id) !== j.entryId) continue;
      this.#jobs.delete(j.id); // re-inserted last: the map's order is the order of enqueues
      this.#jobs.set(j.id, { cursor, shard, atMs });
    }
    for (const oldest of this.#jobs.keys()) {
      if (this.#jobs.size <= KEPT) break;
      this.#jobs.delete(oldest);
    }
  }

  /**
   * The cursor a wait for `ids` may start from in each shard the jobs went to (the earliest of
   * theirs there; a wait blocks on each shard's events), or null when any of them was not
   * enqueued here just now: that wait looks first. Each id is used once.
   */
  cursorsFor(ids: readonly string[]): Map<number, string> | null {
    if (ids.length === 0 || ids.length > READ_BEHIND_MAX) return null;
    const now = this.#now();
    const from = new Map<number, string>();
    for (const id of ids) {
      const job = this.#jobs.get(id);
      if (!job || now - job.atMs > FRESH_MS) return null;
      const earlier = from.get(job.shard);
      if (earlier === undefined || compareStreamIds(job.cursor, earlier) < 0)
        from.set(job.shard, job.cursor);
    }
    for (const id of ids) this.#jobs.delete(id);
    return from;
  }
}

/** Orders two stream ids `<ms>-<seq>` (numbers past 2^53 included). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map(BigInt);
  const [bm = 0n, bs = 0n] = b.split("-").map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}
