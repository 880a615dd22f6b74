// The worker: reads every shard of its queue, one shard's worker each (lib/worker/shard.ts:
// read → run → write the outcome, leases, claims, promotions, a graceful stop), under one
// concurrency limit (lib/worker/slots.ts). A queue of one shard has one. The chain is told in
// docs/internals.md. Connections: lib/worker/links.ts; stopping: lib/worker/stop.ts. A worker
// of several queues (`queue: "high,default,low"`) reads every shard of each, in the queues'
// order (lib/worker/order.ts, lib/worker/queues.ts).

import { defaults, resolveOptions, type WorkerOptions } from "../config.ts";
import { type Level, limitKeys, type QueueKeys, shardKeys } from "../engine/keys.ts";
import { type CourierError, UnavailableError } from "../errors.ts";
import { type Logger, silentLogger, throttled } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import { defaultWorkerName, lostWhileStarting } from "../redis/connect.ts";
import { Outage } from "../redis/outage.ts";
import { serverWarnings } from "../redis/server.ts";
import { maskUrl } from "../redis/url.ts";
import { ScheduleLoop } from "../schedule/loop.ts";
import type { Task } from "../types.ts";
import { type HealthServer, hostPort, serveHealth } from "./health.ts";
import { LevelsWatch } from "./levels-watch.ts";
import { destroyLinks, homeLinks, type Links, openLinks } from "./links.ts";
import { type OrderOptions, orderOptions, type QueueOrder, queueList } from "./order.ts";
import { PauseWatch } from "./pause.ts";
import { forgetName } from "./presence.ts";
import { QueueLimits } from "./queue-limits.ts";
import { openQueues, rankOrder, type ServedShard } from "./queues.ts";
import { ShardWorker } from "./shard.ts";
import { Slots } from "./slots.ts";

export interface WorkerConfig extends Partial<WorkerOptions> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logger?: Logger;
  /**
   * The queues served, in order (lib/worker/order.ts); default: `queue`, which may itself be
   * a comma-separated list ("high,default,low").
   */
  queues?: readonly string[];
  /** How several queues share the slots: "strict" (default) or "weighted". */
  order?: QueueOrder;
  /** One weight per queue, for the weighted order (default: all 1). */
  weights?: readonly number[];
  /**
   * Told once per served queue that gets its first high or low priority job after the start
   * (the worker reads those levels only from its next start): e.g. stop and start it again, as
   * the CLI worker does. Without it, a warning is logged.
   */
  onLevels?: (queue: string) => void;
  /**
   * Fire the recurring schedules of the queues served (lib/schedule/loop.ts; default true).
   * Any number of workers and schedulers fire them, each tick once; false (`worker
   * --no-schedules`) leaves them to others.
   */
  schedules?: boolean;
}

export class Worker {
  readonly options: WorkerOptions;
  /** Shard 0's keys (the queue's keys when it has one shard). */
  readonly keys: QueueKeys;
  readonly name: string;
  /** Shards of the (first) queue, each read by a shard worker of this one. */
  readonly shards: number;
  /** The queues served, in order (one for most workers). */
  readonly queues: readonly string[];

  #log: Logger;
  #tasks: Map<string, Task>;
  #slots: Slots;
  #shards: ShardWorker[];
  /** Whether each queue served is paused (`queue.ts pause`), read every pauseCheckMs. */
  #pauses: Map<string, PauseWatch>;
  #levels: LevelsWatch;
  /** The recurring schedules of the queues served, fired here too (null: --no-schedules). */
  #schedules: ScheduleLoop | null;
  /** Per shard worker: whether its queue is paused. */
  #pausedOf: (() => boolean)[];
  #health: HealthServer | null = null;
  #stopping = false;
  #stopped: Promise<void> | null = null;
  /** Another start took the worker's name (told once, for every shard). */
  #taken = false;

  private constructor(
    config: WorkerConfig,
    o: WorkerOptions,
    served: ServedShard[],
    links: Links[],
    order: OrderOptions | null,
  ) {
    this.options = o;
    this.name = o.name;
    this.queues = [...new Set(served.map((s) => s.queue))];
    const first = served.find((s) => s.level === "normal") as ServedShard;
    this.shards = first.shards;
    this.keys = first.keys;
    this.#log = config.logger ?? silentLogger;
    this.#tasks = new Map(config.tasks.map((t) => [t.name, t as Task]));
    this.#slots = new Slots(o.concurrency, order);
    const several = this.queues.length > 1;
    const wakeAll = () => {
      for (const shard of this.#shards) shard.wake();
    };
    // A queue's layout key is one key for all its shards: the first command connection reads
    // it (on a cluster, its client routes each queue's key to its node).
    const client = () => links[0]!.commands.client;
    this.#pauses = new Map(
      this.queues.map((queue) => {
        const names = { prefix: o.prefix, queue };
        return [queue, new PauseWatch(client, names, this.#log, wakeAll)];
      }),
    );
    this.#levels = new LevelsWatch(client, served, this.#log, config.onLevels);
    this.#schedules =
      config.schedules === false
        ? null
        : new ScheduleLoop({
            client: client(),
            prefix: o.prefix,
            queues: this.queues,
            log: this.#log,
            replicaWaitMs: o.durability === "replicated" ? o.replicaWaitMs : undefined,
          });
    const limitsOf = new Map(
      this.queues.map((queue) => {
        const shards = served.find((s) => s.queue === queue)!.shards;
        const keys = shardKeys(o.prefix, queue, shards);
        const watch = this.#pauses.get(queue)!;
        const lk = limitKeys(o.prefix, queue);
        return [queue, new QueueLimits(lk, watch, (s) => keys[s], client, this.#log)];
      }),
    );
    this.#pausedOf = served.map((s) => {
      const watch = this.#pauses.get(s.queue)!;
      return () => watch.paused;
    });
    // One token for this start, in every shard's worker hash (its level views read it too).
    const start = crypto.randomUUID();
    const rankPaused = new Map(served.map((s, k) => [s.rank, this.#pausedOf[k]!]));
    this.#slots.paused = (rank) => rankPaused.get(rank)?.() === true;
    this.#shards = served.map(
      (s, k) =>
        new ShardWorker({
          ...{ o, keys: s.keys, tasks: this.#tasks, slots: this.#slots, rank: s.rank },
          paused: this.#pausedOf[k]!,
          log: shardLog(
            this.#log,
            several ? s.queue : null,
            s.shards > 1 ? s.keys.shard : null,
            s.level,
          ),
          links: links[k] as Links,
          onStopping: () => void this.stop(),
          start,
          onNameTaken: () => this.#nameTaken(),
          queueKeys: shardKeys(o.prefix, s.queue, s.shards),
          limits: limitsOf.get(s.queue)!,
        }),
    );
    // Each shard's normal view beats for its level views (lib/worker/upkeep.ts).
    for (const [k, s] of served.entries()) {
      if (s.level === "normal") continue;
      const normal = served.findIndex(
        (n) => n.level === "normal" && n.queue === s.queue && n.keys.meta === s.keys.meta,
      );
      if (normal >= 0) this.#shards[normal]!.jobs.levelViews.push(this.#shards[k]!.jobs);
    }
  }

  /** Connects, opens the queue's layout, joins every shard's consumer group and starts processing. */
  static async start(config: WorkerConfig): Promise<Worker> {
    const list = queueList(config.queue ?? defaults.queue, config.queues);
    const name = config.name || defaultWorkerName();
    const o = resolveOptions({ ...config, queue: list[0], name });
    const order = orderOptions(list.length, config.order, config.weights, o.random);
    const outage = new Outage(config.logger ?? silentLogger, maskUrl(o.redisUrl));
    config = { ...config, logger: outage.logger };
    const first = await openLinks(o, outage);
    const links = [first];
    let worker: Worker | null = null;
    try {
      const client = first.commands.client;
      // A queue of another format, or with v1 jobs, is refused before its layout is written.
      const served = await openQueues(client, o, list);
      // The shards' connections open at once (one after another, a worker of many shards waited
      // for each handshake in turn); those that opened are closed below if one did not.
      const rest = Array.from({ length: served.length - 1 }, (_, i) =>
        openLinks(o, outage, `-s${i + 1}`),
      );
      const linked = await Promise.allSettled(rest);
      for (const r of linked) if (r.status === "fulfilled") links.push(r.value);
      for (const r of linked) if (r.status === "rejected") throw r.reason;
      for (const [k, l] of links.entries()) homeLinks(l, served[k]!.keys.meta);
      worker = new Worker(config, o, served, links, rankOrder(order, served));
      const shards = worker.#shards;
      // A connection back (Redis restarted, or one replaced): Redis may hold entries pending on
      // this worker that it does not know of (their acknowledgements lost with the AOF's last
      // writes), and no read of its failed to say so when its slots were all busy: read them
      // again. A worker never claims its own entries: nothing else would run them while it lives.
      // Only the shard whose connection it is (on a cluster, each hears of its own node only).
      outage.onReady = (name) => shards[shardOfLink(name)]?.readLost();
      // Every shard readied before any fails the start, so the cleanup below sees every claim.
      const opened = await Promise.allSettled(shards.map((s, k) => s.open(served[k]!.shards > 1)));
      for (const r of opened) if (r.status === "rejected") throw r.reason;
      // Before any log line: a port in use is a usage error, said alone (exit 2).
      // Started during a pause: no job is taken before it ends.
      await Promise.all([...worker.#pauses.values()].map((p) => p.read()));
      if (o.healthPort > 0) worker.#health = serveHealth(worker, o.healthPort, o.healthHost);
      for (const w of await serverWarnings(client)) config.logger?.log("warn", w);
      worker.#begin();
      return worker;
    } catch (err) {
      // A name this start claimed is freed (the same process may start it again); one refused
      // as already running here stays the other worker's.
      const made = worker ? worker.#shards : [];
      for (const shard of made) if (shard.claimed) forgetName(shard.keys, o.name);
      for (const l of links) destroyLinks(l); // a failed start leaves nothing open behind it
      throw lostWhileStarting(err, o.redisUrl, "while the worker started");
    }
  }

  /**
   * Why the worker stopped by itself, or null: Redis refused a shard's reads for good (a queue
   * key holding another type of value than Courier writes, or NOPERM), an operator's error that
   * no retry fixes; or its name was taken by another start while it stalled (an
   * UnavailableError); every shard then stops. Set before `stopped` resolves.
   */
  get failure(): CourierError | null {
    for (const shard of this.#shards) if (shard.failure) return shard.failure;
    return null;
  }

  /** Resolves when every shard has stopped and closed its connections. */
  get stopped(): Promise<void> {
    this.#stopped ??= Promise.all(this.#shards.map((s) => s.stopped)).then(() => {
      const counts = { finished: this.processed, failedAttempts: this.failed };
      this.#log.log("info", "worker stopped", { worker: this.name, ...counts });
    });
    return this.#stopped;
  }

  /** Jobs this worker has finished (recorded) since it started. */
  get processed(): number {
    return this.#sum((s) => s.processed);
  }

  /** Failed attempts (retried or not) since it started. */
  get failed(): number {
    return this.#sum((s) => s.failed);
  }

  get inFlight(): number {
    return this.#sum((s) => s.inFlight);
  }

  /** Port of the health server (0 when there is none). */
  get healthPort(): number {
    return this.#health?.port ?? 0;
  }

  /** Connected to Redis and reading, every shard (for /healthz). */
  ready(): boolean {
    return !this.#stopping && this.#shards.every((s) => s.ready());
  }

  /** Why the worker cannot make (full) progress, for /healthz; null when nothing is wrong. */
  problem(): string | null {
    if (this.#stopping) return "stopping";
    for (const shard of this.#shards) {
      const problem = shard.problem();
      if (problem !== null) return problem;
    }
    return null;
  }

  /**
   * Every shard's read loop turned recently (a paused queue's loops wait for the resume without
   * turning: that is no hang), or slots are all busy, or stopping (for /livez).
   */
  live(): boolean {
    const o = this.options;
    const limitMs = 3 * (o.blockMs + o.commandTimeoutMs);
    const turning = this.#shards.every((s, k) => this.#pausedOf[k]!() || s.quietMs < limitMs);
    return this.#stopping || this.#slots.running >= o.concurrency || turning;
  }

  #begin(): void {
    const o = this.options;
    this.#log.log("info", "worker started", {
      worker: this.name,
      queue: this.queues.join(","),
      order: this.queues.length > 1 ? orderText(this.#slots) : undefined,
      shards: this.shards > 1 ? this.shards : undefined,
      concurrency: o.concurrency,
      tasks: [...this.#tasks.keys()].join(","),
      // host:port, as bound: `:port` alone would hide a health server reachable on loopback only
      health: this.#health ? hostPort(o.healthHost, this.#health.port) : undefined,
    });
    // Redis away: said once in a while, not every pauseCheckMs; the last answer holds.
    const failed = throttled(this.#log, "could not read whether the queue is paused");
    const onError = (err: unknown) => failed({ error: describeCause(err) });
    for (const pause of this.#pauses.values()) pause.start(o.pauseCheckMs, onError);
    const levelsFailed = throttled(this.#log, "could not read whether a queue has levels");
    this.#levels.start(o.heartbeatEveryMs, (err) => levelsFailed({ error: describeCause(err) }));
    this.#schedules?.start();
    void Promise.all(this.#shards.map((s) => s.run())).then(() => {
      if (!this.#stopping) void this.stop(); // burst mode: every shard is drained
    });
  }

  /**
   * Graceful stop of every shard: no new reads or claims; in-flight jobs get `graceMs` to
   * finish; what is still running then is given up and released at once to other workers; the
   * worker then leaves each shard's group and closes its connections. Safe to call more than once.
   */
  async stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#health?.stop();
      for (const pause of this.#pauses.values()) pause.stop();
      this.#levels.stop();
      // The schedule loop's pass (a few calls) ends before the connections close; one stuck
      // on an unreachable Redis is not waited for long (its tick, not advanced, stays due).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise((resolve) => (timer = setTimeout(resolve, 1_000)));
      await Promise.race([this.#schedules?.stop(), bound]);
      clearTimeout(timer);
      await Promise.all(this.#shards.map((s) => s.stop(graceMs)));
    }
    return this.stopped;
  }

  /**
   * A shard found its worker name held by another start (this process stalled past its hash's
   * TTL, and a worker with the same name started): every shard stops reading and winds down
   * what it runs, leaving the entries pending on the name to that start (lib/worker/stop.ts).
   */
  #nameTaken(): void {
    if (this.#taken) return;
    this.#taken = true;
    this.#log.log("error", "worker name taken by another start; stopping", { worker: this.name });
    const failure = new UnavailableError(
      `worker name "${this.name}" was taken by another start while this process was stalled; stopped without reading again`,
    );
    for (const shard of this.#shards) shard.nameTaken(failure); // all marked before any stops
    void this.stop();
  }

  #sum(count: (shard: ShardWorker) => number): number {
    return this.#shards.reduce((n, s) => n + count(s), 0);
  }
}

/** The shard a connection's name belongs to (lib/worker/links.ts: `courier-worker-s3`; none: 0). */
function shardOfLink(name: string): number {
  return Number(/-s(\d+)$/.exec(name)?.[1] ?? 0);
}

/**
 * The worker's logger, naming the queue (a worker of several) and shard `shard` (a queue of
 * several shards) in every line; the worker's own when it names neither.
 */
function shardLog(
  log: Logger,
  queue: string | null,
  shard: number | null,
  level: Level = "normal",
): Logger {
  if (queue === null && shard === null && level === "normal") return log;
  const named = {
    ...(queue === null ? {} : { queue }),
    ...(shard === null ? {} : { shard }),
    ...(level === "normal" ? {} : { level }),
  };
  return { log: (level, event, fields) => log.log(level, event, { ...fields, ...named }) };
}

/** The order of a worker of several queues, for its start line: `strict` or `weighted 6,3,1`. */
function orderText(slots: Slots): string {
  const order = slots.order as OrderOptions;
  return order.order === "strict" ? "strict" : `weighted ${order.weights.join(",")}`;
}
