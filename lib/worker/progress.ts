// Progress of the jobs a worker runs (docs/internals.md, "Progress"): each job's reports are
// coalesced so a task calling `ctx.progress` in a tight loop costs Redis at most one call per
// job per progressMinIntervalMs. The first report is written at once; later ones within the
// interval replace each other, and the last is written when the interval is up, unless the job
// ended first (its outcome says more, and status.lua shows no progress for an ended job).

import type { QueueKeys } from "../engine/keys.ts";
import { writeProgress } from "../engine/progress.ts";
import { type Logger, throttled } from "../log.ts";
import type { Redis } from "../redis/connect.ts";

interface JobProgress {
  id: string;
  /** performance.now() of the last write, or -Infinity before the first. */
  lastMs: number;
  /** JSON waiting for the interval to end (the latest report), or null. */
  pending: string | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The TTL its key gets: past the attempt's time limit, nothing renews it. */
  ttlS: number;
}

export class ProgressWriter {
  #jobs = new Map<string, JobProgress>();
  #failed: (fields: Record<string, unknown>) => void;

  constructor(
    private readonly client: () => Redis,
    private readonly keys: QueueKeys,
    private readonly o: { progressMinIntervalMs: number; eventsMaxLen: number },
    log: Logger,
  ) {
    // Progress is advisory: a failed write (Redis away, full) is logged, never fails the job.
    this.#failed = throttled(log, "progress not written");
  }

  /** Job `id` started an attempt (of entry `entryId`) limited to `limitMs`. */
  start(entryId: string, id: string, limitMs: number): void {
    // A minute past the attempt's time limit: the key outlives every report of the attempt
    // and goes by itself once the attempt is over (no script of the job's end has to delete it).
    const ttlS = Math.ceil(limitMs / 1000) + 60;
    this.#jobs.set(entryId, { id, lastMs: -Infinity, pending: null, timer: undefined, ttlS });
  }

  /** A checked report (lib/worker/context.ts) of the attempt of entry `entryId`. */
  report(entryId: string, json: string): void {
    const job = this.#jobs.get(entryId);
    if (!job) return; // the attempt is over: a task still running after its end is ignored
    job.pending = json;
    if (job.timer) return;
    const waitMs = job.lastMs + this.o.progressMinIntervalMs - performance.now();
    if (waitMs <= 0) this.#flush(entryId, job);
    else job.timer = setTimeout(() => this.#flush(entryId, job), waitMs);
  }

  /** The attempt is over: a report waiting for its interval is dropped. */
  end(entryId: string): void {
    const job = this.#jobs.get(entryId);
    if (job) clearTimeout(job.timer);
    this.#jobs.delete(entryId);
  }

  /** Every attempt is over (the worker stops). */
  close(): void {
    for (const entryId of [...this.#jobs.keys()]) this.end(entryId);
  }

  #flush(entryId: string, job: JobProgress): void {
    job.timer = undefined;
    const { id, pending: json } = job;
    if (json === null || this.#jobs.get(entryId) !== job) return;
    job.pending = null;
    job.lastMs = performance.now();
    const { keys, o } = this;
    writeProgress(this.client(), keys, id, json, job.ttlS, o.eventsMaxLen).catch((err) =>
      this.#failed({ job: id, error: String((err as Error)?.message ?? err) }),
    );
  }
}
