// Every default in one typed object. Units are in the names: Ms milliseconds, S seconds.
// Options given are merged over it and checked in lib/options.ts.

/** Attempts a job may be given, per job or as a queue's default (one limit for both). */
export const MAX_ATTEMPTS_LIMIT = 1_000_000;

/**
 * When a write counts as done (docs/cluster.md, "Durability"): "async" (default) once its
 * master has it, as Redis replicates asynchronously: a master that dies can take its last
 * acknowledged writes with it; "replicated" once a replica has it too (WAIT 1 on the shard's
 * node), at the cost of a round trip per batch and of failing while a master has no replica.
 */
export type Durability = "async" | "replicated";
export const DURABILITIES: readonly Durability[] = ["async", "replicated"];

export interface QueueOptions {
  /** Redis URL, `redis://` or `rediss://` (TLS), may hold user and password. */
  redisUrl: string;
  /** Queue name; every key of the queue carries it as a Redis Cluster hash tag `{queue}`. */
  queue: string;
  /** First segment of every key, so several apps can share one Redis. */
  prefix: string;
  /**
   * Shards of a queue this process creates (its first use): N hash-tagged parts spread over a
   * Redis Cluster's masters (docs/cluster.md). Fixed once the queue exists (recorded in its
   * meta); undefined = whatever the queue has, 1 for a new one.
   */
  shards: number | undefined;
  /** Longest wait between reconnect attempts after Redis goes away. */
  reconnectMaxMs: number;
  /**
   * How long a command may go unanswered (past a blocking read's own BLOCK time) before Redis
   * is taken for stalled: a worker reopens its connection (a stalled network never errors); a
   * Queue's or an Admin's call throws NoAnswerError (a write's: LostReplyError, it may or may
   * not have been done). Default 10000: well above a busy Redis' slowest answers (a fork, a
   * large script), and the bound on how soon a cut-off process notices.
   */
  commandTimeoutMs: number;
  /** Wall clock (ms since the epoch), injectable so tests need not sleep. */
  now: () => number;
  /**
   * "replicated": an enqueue (a worker's outcome batch) waits until a replica of its shard's
   * master has it (WAIT 1); default "async": the master's reply is enough (Durability).
   */
  durability: Durability;
  /**
   * With durability "replicated", how long a write waits for a replica's acknowledgement; past
   * it an enqueue throws NotReplicatedError, a worker logs a warning. Default 1000.
   */
  replicaWaitMs: number;
}

/** A connection's limits that no option sets (lib/redis/connect.ts, cluster.ts). */
export interface ConnectDefaults {
  /**
   * Connecting and its checks, when the caller gives no limit, and a cluster seed's answer with
   * the layout: a peer that accepts the connection and never answers (a stopped Redis) fails in
   * 5 s, as a refused one does at once.
   */
  connectTimeoutMs: number;
}

/** What reading every queue under a prefix may hold at once (`info`, the dashboard's list). */
export interface AdminDefaults {
  /**
   * Queues read at the same time (lib/admin/info.ts, discover.ts), in queues: a queue's report
   * is about 25 commands, so 32 keep ~800 commands out. Reading all of them at once, 20,000
   * queues queued 1.5 million commands (2.4 GB) and the last ones passed the command timeout;
   * more at once reads a few faster, each one more is memory held.
   */
  queuesReadAtOnce: number;
}

export interface ProducerOptions extends QueueOptions {
  /** Attempts a job gets before it is dead-lettered (1 = no retry). */
  maxAttempts: number;
  /** Jobs sent per script call by bulk enqueue: larger batches, fewer round trips, longer calls. */
  enqueueBatchSize: number;
  /**
   * Bytes of job data (payload, task, id, limit key) after which bulk enqueue cuts a batch
   * before `enqueueBatchSize` jobs: bounds how long one script call holds Redis and, times the
   * batches in flight, the producer's memory. A larger job goes alone in its batch.
   */
  enqueueBatchBytes: number;
}

export interface WorkerOptions extends QueueOptions {
  /** Jobs run at once by one worker process (async, not threads). */
  concurrency: number;
  /** Consumer name in the group; defaults to `<host>-<pid>-<random>`. */
  name: string;
  /** Exit once nothing is waiting, delayed or in flight, like `rq worker --burst`. */
  burst: boolean;
  /**
   * How long a job's lease may go unrenewed before another worker takes it over. Shorter
   * recovers crashed jobs sooner; too short steals jobs from a worker whose event loop stalls.
   */
  claimIdleMs: number;
  /**
   * How often a worker looks for lapsed leases to claim (claim.lua). When not given, it is
   * the default or half of claimIdleMs, whichever is smaller, so a short claimIdleMs also
   * recovers jobs quickly.
   */
  reclaimEveryMs: number;
  /**
   * Longest time one blocking read waits. Bounded so a stopping worker notices within this
   * time; longer means fewer idle round trips.
   */
  blockMs: number;
  /** Run-time limit of one attempt, enforced through the task's AbortSignal. */
  jobTimeoutMs: number;
  /** Port for /livez and /healthz (0 = no health server). */
  healthPort: number;
  /** Address the health server binds to; all interfaces, so orchestrators can reach it. */
  healthHost: string;
  /** How often due jobs are moved from the delayed set back to the stream. */
  promoteEveryMs: number;
  /**
   * How often a worker reads whether its queue is paused (`queue.ts pause`: one HGET of the
   * layout key per worker). A pause or resume takes effect within this; 500 ms by default.
   */
  pauseCheckMs: number;
  /** How often the worker records its heartbeat in the workers set. */
  heartbeatEveryMs: number;
  /**
   * How often a worker that runs jobs reads which were canceled (one cheap read per shard;
   * none while it runs nothing): a canceled job's signal aborts within about this long.
   * Default 500.
   */
  cancelCheckMs: number;
  /**
   * How long a stopping worker lets in-flight jobs run before releasing them. The whole stop
   * ends by this plus 4 s (STOP_MARGIN_MS, lib/worker/stop.ts), whatever Redis does: the outcomes
   * of jobs that ended get that margin to be written.
   */
  shutdownGraceMs: number;
  /** Seconds a finished job's record (and result) is kept. */
  resultTtlS: number;
  /** Seconds a failed job's record is kept (its dead letter is kept apart, see deadMaxLen). */
  failureTtlS: number;
  /** First retry back-off; doubles each attempt, with ±25% jitter. */
  backoffBaseMs: number;
  /** Longest retry back-off. */
  backoffMaxMs: number;
  /**
   * Times one job may be held by its task (HeldError: a server's 429, or 503 with Retry-After)
   * before the next such answer fails it for good, so a host that always says "slow down"
   * ends its jobs with that reason instead of holding them for ever. A hold spends no attempt.
   * Default 10; lower gives up on a throttling host sooner.
   */
  maxHolds: number;
  /** Random source in [0, 1) for the back-off's jitter, injectable so tests can predict it. */
  random: () => number;
  /** Dead letters kept (approximate, trimmed by MAXLEN ~: safe, this is not the job stream). */
  deadMaxLen: number;
  /**
   * Job events kept for `result --wait`, `Queue.events()` and dashboards: about this many
   * jobs' (a finish event names a whole batch; approximate MAXLEN ~).
   */
  eventsMaxLen: number;
  /**
   * Least time between two progress writes of one job (`ctx.progress`, lib/worker/progress.ts):
   * reports in between are coalesced, the last one written when the interval is up (unless the
   * job ended first). Default 500; shorter shows progress sooner, at a Redis call per job each.
   */
  progressMinIntervalMs: number;
  /**
   * How far past maxmemory (percent) a worker on a full Redis goes on starting new jobs. Their
   * outcomes are written anyway (a result weighs more than the queued job it replaces), so this
   * bounds how far draining takes Redis past its limit; beyond it the worker starts jobs only
   * while its outcomes free memory (failures on a full Redis), else finishes what it runs and
   * waits for room (results expiring, dead letters purged). Default 10; 0 = start nothing new
   * while Redis is full.
   */
  memoryHeadroomPct: number;
  /**
   * Entries a worker may hold beyond its concurrency, read but not started, so the next job
   * starts the moment one ends while the finish (which takes the one after) is in flight
   * (docs/internals.md, "2. Read"). Applies in take mode only (concurrency under 16: from 16
   * on, two read loops overlap already), on a queue of one shard and one priority level, in a
   * worker of one queue, while no job may ask the limiter (no rate limits, no key hold made
   * lately: the limiter decides at the read). Default 1; 0 = one call per job, nothing held.
   * A held job shows as `started`.
   */
  prefetch: number;
  /**
   * Longest a prefetched entry waits while the job before it runs on: past it the entry is
   * given back to the queue (no attempt spent, at the stream's end) for an idle worker, and
   * none is prefetched after a job that ran this long. Default 100: prefetch saves about a
   * round trip (~0.1 ms) per job, under 0.1% past 100 ms of run time.
   */
  prefetchWaitMs: number;
}

export const defaults = {
  redisUrl: "redis://127.0.0.1:6379",
  queue: "default",
  prefix: "courier",
  shards: undefined,
  maxAttempts: 3,
  enqueueBatchSize: 500,
  enqueueBatchBytes: 1_048_576, // 1 MiB: a few ms of Redis per call; small jobs cut at 500 first
  concurrency: 16,
  name: "",
  burst: false,
  claimIdleMs: 30_000,
  reclaimEveryMs: 5_000,
  blockMs: 2_000,
  jobTimeoutMs: 180_000, // RQ's default job timeout
  commandTimeoutMs: 10_000,
  healthPort: 0,
  healthHost: "0.0.0.0",
  promoteEveryMs: 250,
  pauseCheckMs: 500,
  heartbeatEveryMs: 5_000,
  cancelCheckMs: 500,
  shutdownGraceMs: 25_000, // + 4 s margin: under the 30 s most orchestrators wait before SIGKILL
  resultTtlS: 3_600, // the seed's result_ttl
  failureTtlS: 7 * 24 * 3_600,
  backoffBaseMs: 1_000,
  backoffMaxMs: 10 * 60_000,
  maxHolds: 10,
  deadMaxLen: 100_000,
  eventsMaxLen: 10_000,
  progressMinIntervalMs: 500,
  memoryHeadroomPct: 10,
  prefetch: 1,
  prefetchWaitMs: 100,
  reconnectMaxMs: 5_000,
  connectTimeoutMs: 5_000,
  durability: "async" as Durability,
  replicaWaitMs: 1_000,
  now: Date.now,
  random: Math.random,
} satisfies ProducerOptions & WorkerOptions & ConnectDefaults;

/** The keys of `defaults`: an entry point's options beside these are its own (keysOf). */
export type DefaultKey = keyof typeof defaults;

/** Reading queues in bulk: no option sets these (AdminDefaults). */
export const adminDefaults: AdminDefaults = {
  queuesReadAtOnce: 32,
};

/**
 * The largest an interval option may be (ms: 11 days; the TTLs and lengths beside them too):
 * two added together still fit a timer's 31-bit delay.
 */
export const INTERVAL_LIMIT_MS = 1_000_000_000;

/**
 * The latest a task's `alive_until:<task>` can be, past Redis' TIME: the longest window a worker
 * sends (6 heartbeats of at most INTERVAL_LIMIT_MS, lib/worker/presence.ts). A later one (a hand
 * edit: `inf`) is no worker's: read as none (include/alive.lua holds the same number).
 */
export const ALIVE_WINDOW_MOST_MS = 6 * INTERVAL_LIMIT_MS;

/** The most entries a worker may prefetch (WorkerOptions.prefetch). */
export const PREFETCH_LIMIT = 100;

/**
 * Bytes of job data one call that copies jobs by id reads at most, the job that crosses it
 * included (a single larger job moves alone, never refused for its size): promote.lua,
 * serve.lua, release.lua, give-back.lua, claim.lua and requeue.lua copy whole records or
 * entries, payload included, and 500 of 256 KB made one call of 0.4 to 2.5 s, Redis blocked
 * throughout (docs/performance.md, "Calls that move jobs by id"). 1 MiB, as enqueueBatchBytes:
 * a few ms of Redis per call.
 */
export const MOVE_BYTES = 1_048_576;

/**
 * How long a Queue keeps a wait's blocking connection idle for the next wait before closing it
 * (ms; lib/queue/waiters.ts): steady waits reuse theirs, while a burst of waits at once (one
 * connection each) gives its extras back half a minute after it, not at Queue.close().
 */
export const WAITER_IDLE_MS = 30_000;

/**
 * A producer sends a plain job by enqueue-one.lua (lib/engine/enqueue-plain.ts) for this long
 * after enqueue.lua last created a job on the shard (checking its keys' types and, on a queue of
 * one shard, its shard count), then sends the next by enqueue.lua again: a key of the queue
 * given another type under a running producer is refused within this time, and a one-shard
 * queue made again with other shards is sent to those within it.
 */
export const PLAIN_RECHECK_MS = 1_000;

/**
 * A producer of several shards makes a shard with no meta (writes its format with its first
 * jobs) within this long of reading the queue's layout at connect or before its first enqueue
 * (lib/queue/layout.ts, mayCreate): a new queue's first batch in one call. Past it, such a
 * shard is refused and the layout read again first (one more call, once per shard): its
 * missing meta may be the queue emptied and made again with other shards. Short: a queue
 * emptied and made again within it is the one case a stale shard can still be made.
 */
export const LAYOUT_READ_FRESH_MS = 100;

/**
 * How long `worker --tasks FILE` waits for a module to load before it says so on stderr (and
 * waits on): a top-level `await` that never settles would otherwise hang the start unseen.
 */
export const TASK_MODULE_SLOW_MS = 10_000;

/** What a queue name (and a key prefix) may be: it goes into key names and the `{…}` hash tag. */
export const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * What a worker's name may be: Redis' CLIENT SETNAME takes printable ASCII without spaces only,
 * and the name names the worker's connections.
 */
export const WORKER_NAME = /^[!-~]{1,200}$/;

/** The longest `retryConnectS` or `waitForMemoryS` (s): INTERVAL_LIMIT_MS, so a timer holds it. */
export const RETRY_WINDOW_LIMIT_S = INTERVAL_LIMIT_MS / 1_000;
