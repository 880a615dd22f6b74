// The one module that names Redis keys. Every key of a queue carries the hash tag `{queue}`,
// so the whole queue lives in one Redis Cluster slot and multi-key scripts work there too.

export interface QueueKeys {
  /**
   * Hash: `format` (the data format the queue's keys are written in, DATA_FORMAT) and
   * `created_at` (Redis' ms), written once by the first worker or producer (meta-1.lua).
   */
  meta: string;
  /** Stream: one entry per delivery, field `id` = job id. */
  stream: string;
  /** Hash per job: task, payload, status, attempt, times, result, error. */
  job: (id: string) => string;
  /** Prefix of job hashes, for Lua scripts that build job keys from ids. */
  jobPrefix: string;
  /** Sorted set: job ids waiting for a retry back-off or a delayed enqueue, scored by due ms. */
  delayed: string;
  /** Stream of dead letters: jobs that failed for good. */
  dead: string;
  /**
   * Stream of job events, trimmed by approximate length: `type` failed or retried with `id`,
   * or `type` finished with `ids` (every job one finish batch recorded, comma-separated).
   */
  events: string;
  /** Sorted set of live workers, scored by last heartbeat ms. */
  workers: string;
  /** Hash per worker: host, pid, concurrency, in-flight and processed counts. */
  worker: (name: string) => string;
  /** Prefix of worker hashes, for Lua scripts that build worker keys from names. */
  workerPrefix: string;
  /**
   * Hash of per-task facts: `alive_until:<task>` = until when (Redis' ms) a worker that has the
   * task counts as live (its last beat plus six of its heartbeats, the latest of them),
   * `parked:<task>` = jobs parked for it (no live worker had it when they came).
   */
  tasks: string;
  /** Prefix of the sorted sets (one per task) of parked job ids, scored by when parked. */
  parkedPrefix: string;
  /** Hash of counters: enqueued, started, finished, failed, retried, dead, claimed, requeued. */
  stats: string;
  /**
   * Hash of per-minute counts, field `<epoch minute>:<finished|failed|retried>`, plus `trimmed`
   * (the last minute the scripts trimmed at); fields older than MINUTES_KEPT are deleted.
   */
  minutes: string;
  /**
   * Hash: histogram of finished jobs' run times. Field `<bound ms>` (or `inf`) counts jobs whose
   * run took at most that bound and more than the one below; `sum_ms` and `count` as well.
   */
  durations: string;
  /** `r:<id>`: a string holding the job's outcome (lib/engine/v2/outcome.ts), with a TTL. */
  result: (id: string) => string;
  resultPrefix: string;
  /** `job:<id>`: the record hash (engine v2), only for jobs that need one; the same key as `job`. */
  record: (id: string) => string;
  recordPrefix: string;
  /** `receipt:<batch>`: an enqueue batch's reply, so a re-sent batch adds nothing. */
  receipt: (batch: string) => string;
}

/** Minutes of per-minute counts kept (three hours: the dashboard's chart and `info` use one). */
export const MINUTES_KEPT = 180;

/**
 * The data format this Courier reads and writes. A process meeting a queue of another format
 * refuses it (lib/engine/format.ts) rather than misread it; a change of layout bumps it.
 */
export const DATA_FORMAT = 2;

/** The consumer group every worker of a queue reads through. */
export const GROUP = "workers";

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}`;
  const jobPrefix = `${base}:job:`;
  const workerPrefix = `${base}:worker:`;
  const resultPrefix = `${base}:r:`;
  return {
    meta: `${base}:meta`,
    stream: `${base}:stream`,
    job: (id) => jobPrefix + id,
    jobPrefix,
    delayed: `${base}:delayed`,
    dead: `${base}:dead`,
    events: `${base}:events`,
    workers: `${base}:workers`,
    worker: (name) => workerPrefix + name,
    workerPrefix,
    tasks: `${base}:tasks`,
    parkedPrefix: `${base}:parked:`,
    stats: `${base}:stats`,
    minutes: `${base}:stats:minutes`,
    durations: `${base}:stats:durations`,
    result: (id) => resultPrefix + id,
    resultPrefix,
    record: (id) => jobPrefix + id,
    recordPrefix: jobPrefix,
    receipt: (batch) => `${base}:receipt:${batch}`,
  };
}
