// Progress of the jobs a worker runs (docs/internals.md, "Progress"): each job's reports are
// coalesced so a task calling `ctx.progress` in a tight loop costs Redis at most one call per
// job per progressMinIntervalMs. The first report is written at once; later ones within the
// interval replace each other, and the last is written when the interval is up, unless the job
// ended first (its outcome says more, and status.lua shows no progress for an ended job).

import type { QueueKeys } from "../engine/keys.ts";
import { writeProgress } from "../engine/progress.ts";
import { type Logger, throttled } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import type { ParentOutcome } from "../types.ts";
import type { ContextSinks } from "./context.ts";

/** One attempt's progress: made at its first report (most attempts report none). */
export interface JobProgress {
  id: string;
  /** performance.now() of the last write, or -Infinity before the first. */
  lastMs: number;
  /** JSON waiting for the interval to end (the latest report), or null. */
  pending: string | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The TTL its key gets: past the attempt's time limit, nothing renews it. */
  ttlS: number;
  /** The attempt is over: nothing more is written. */
  over: boolean;
}

export class ProgressWriter {
  /** Attempts that reported and are not over (for close()). */
  #open = new Set<JobProgress>();
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

  /** Job `id`'s attempt, limited to `limitMs`, reported for the first time. */
  open(id: string, limitMs: number): JobProgress {
    // A minute past the attempt's time limit: the key outlives every report of the attempt
    // and goes by itself once the attempt is over (no script of the job's end has to delete it).
    const ttlS = Math.ceil(limitMs / 1000) + 60;
    const job = { id, lastMs: -Infinity, pending: null, timer: undefined, ttlS, over: false };
    this.#open.add(job);
    return job;
  }

  /** A checked report (lib/worker/context.ts) of the attempt `job`. */
  report(job: JobProgress, json: string): void {
    if (job.over) return; // the attempt is over: a task still running after its end is ignored
    job.pending = json;
    if (job.timer) return;
    const waitMs = job.lastMs + this.o.progressMinIntervalMs - performance.now();
    if (waitMs <= 0) this.#flush(job);
    else job.timer = setTimeout(() => this.#flush(job), waitMs);
  }

  /** The attempt is over: a report waiting for its interval is dropped. */
  end(job: JobProgress): void {
    job.over = true;
    clearTimeout(job.timer);
    this.#open.delete(job);
  }

  /** Every attempt is over (the worker stops). */
  close(): void {
    for (const job of [...this.#open]) this.end(job);
  }

  #flush(job: JobProgress): void {
    job.timer = undefined;
    const { id, pending: json } = job;
    if (json === null || job.over) return;
    job.pending = null;
    job.lastMs = performance.now();
    const { keys, o } = this;
    writeProgress(this.client(), keys, id, json, job.ttlS, o.eventsMaxLen).catch((err) =>
      this.#failed({ job: id, error: String((err as Error)?.message ?? err) }),
    );
  }
}

/**
 * Where one attempt's context sends progress and log lines (lib/worker/context.ts): one object
 * per attempt with methods, rather than a closure per sink and one to end the reports.
 */
export class RunSinks implements ContextSinks {
  /** Made at the first report only: most tasks report none. */
  #progress: JobProgress | null = null;

  constructor(
    private readonly writer: ProgressWriter,
    private readonly id: string,
    private readonly limitMs: number,
    readonly log: Logger,
    readonly parents: ((id: string) => AsyncIterable<ParentOutcome>) | undefined,
  ) {}

  progress(_: unknown, json: string): void {
    this.#progress ??= this.writer.open(this.id, this.limitMs);
    this.writer.report(this.#progress, json);
  }

  /** The attempt is over: its reports end (one that comes later is dropped). */
  end(): void {
    if (this.#progress) this.writer.end(this.#progress);
    else this.#progress = { over: true } as JobProgress;
  }
}
