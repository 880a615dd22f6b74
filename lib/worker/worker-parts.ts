// The parts of a worker (the base of Worker, lib/worker/worker.ts): one shard's worker per
// shard and level of each queue served (lib/worker/shard.ts), under one concurrency limit
// (lib/worker/slots.ts); each queue's pause watch and rate limits, the levels watch, the
// recurring schedules; normal views beating for their level views. Made once at its start.

import type { WorkerOptions } from "../config.ts";
import { type Level, limitKeys, type QueueKeys } from "../engine/keys.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { Redis } from "../redis/connect.ts";
import { ScheduleLoop } from "../schedule/loop.ts";
import type { Task } from "../types.ts";
import type { HealthServer } from "./health.ts";
import { LevelsWatch } from "./levels-watch.ts";
import type { Links } from "./links.ts";
import type { OrderOptions } from "./order.ts";
import { PauseWatch } from "./pause.ts";
import { QueueLimits } from "./queue-limits.ts";
import type { ServedShard } from "./queues.ts";
import { ShardWorker } from "./shard.ts";
import { Slots } from "./slots.ts";
import type { WorkerConfig } from "./worker.ts";

export abstract class WorkerParts {
  readonly options: WorkerOptions;
  /** Shard 0's keys (the queue's keys when it has one shard). */
  readonly keys: QueueKeys;
  readonly name: string;
  /** Shards of the (first) queue, each read by a shard worker of this one. */
  readonly shards: number;
  /** The queues served, in order (one for most workers). */
  readonly queues: readonly string[];

  protected readonly log: Logger;
  protected readonly tasks: Map<string, Task>;
  protected readonly slots: Slots;
  /** One per shard (and level) of each queue served. */
  protected readonly shardWorkers: ShardWorker[];
  /** Whether each queue served is paused (`queue.ts pause`), read every pauseCheckMs. */
  protected readonly pauses: Map<string, PauseWatch>;
  protected readonly levels: LevelsWatch;
  /** The recurring schedules of the queues served, fired here too (null: --no-schedules). */
  protected readonly schedules: ScheduleLoop | null;
  /** Per shard worker: whether its queue is paused. */
  protected readonly pausedOf: (() => boolean)[];
  protected health: HealthServer | null = null;

  constructor(
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
    this.log = config.logger ?? silentLogger;
    this.tasks = new Map(config.tasks.map((t) => [t.name, t as Task]));
    this.slots = new Slots(o.concurrency, order);
    // A queue's layout key is one key for all its shards: the first command connection reads
    // it (on a cluster, its client routes each queue's key to its node).
    const client = () => links[0]!.commands.client;
    this.pauses = this.#newPauses(client);
    this.levels = new LevelsWatch(client, served, this.log, config.onLevels);
    this.schedules = config.schedules === false ? null : this.#newSchedules(client);
    const limitsOf = this.#newLimits(served, client);
    this.pausedOf = served.map((s) => {
      const watch = this.pauses.get(s.queue)!;
      return () => watch.paused;
    });
    const rankPaused = new Map(served.map((s, k) => [s.rank, this.pausedOf[k]!]));
    this.slots.paused = (rank) => rankPaused.get(rank)?.() === true;
    this.shardWorkers = this.#newShardWorkers(served, links, limitsOf);
    this.#beatForLevelViews(served);
  }

  /** Each queue's pause watch; a pause that ends wakes every shard. */
  #newPauses(client: () => Redis): Map<string, PauseWatch> {
    const o = this.options;
    const wakeAll = () => {
      for (const shard of this.shardWorkers) shard.wake();
    };
    return new Map(
      this.queues.map((queue) => {
        const names = { prefix: o.prefix, queue };
        return [queue, new PauseWatch(client, names, this.log, wakeAll)];
      }),
    );
  }

  /** The recurring schedules of the queues served (lib/schedule/loop.ts). */
  #newSchedules(client: () => Redis): ScheduleLoop {
    const o = this.options;
    return new ScheduleLoop({
      client,
      prefix: o.prefix,
      queues: this.queues,
      log: this.log,
      replicaWaitMs: o.durability === "replicated" ? o.replicaWaitMs : undefined,
    });
  }

  /** Each queue's rate limits (lib/worker/queue-limits.ts), under its pause watch. */
  #newLimits(served: ServedShard[], client: () => Redis): Map<string, QueueLimits> {
    const o = this.options;
    return new Map(
      this.queues.map((queue) => {
        const keys = served.find((s) => s.queue === queue)!.queueKeys;
        const watch = this.pauses.get(queue)!;
        const lk = limitKeys(o.prefix, queue);
        const limits = new QueueLimits(lk, watch, (s) => keys[s], client, this.log);
        watch.onLimits = () => limits.changed();
        return [queue, limits];
      }),
    );
  }

  /** One shard's worker per shard (and level) served, in `served`'s order. */
  #newShardWorkers(
    served: ServedShard[],
    links: Links[],
    limitsOf: Map<string, QueueLimits>,
  ): ShardWorker[] {
    const o = this.options;
    const several = this.queues.length > 1;
    // One token for this start, in every shard's worker hash (its level views read it too).
    const start = crypto.randomUUID();
    return served.map(
      (s, k) =>
        new ShardWorker({
          ...{ o, queue: s.queue, keys: s.keys, tasks: this.tasks, slots: this.slots },
          rank: s.rank,
          paused: this.pausedOf[k]!,
          log: shardLog(
            this.log,
            several ? s.queue : null,
            s.shards > 1 ? s.keys.shard : null,
            s.level,
          ),
          links: links[k] as Links,
          onStopping: () => this.joinStop(),
          start,
          onNameTaken: () => this.nameTaken(),
          queueKeys: s.queueKeys,
          limits: limitsOf.get(s.queue)!,
          // Its connection is the shared one (limits' frees): it closes after the others' jobs end.
          ...(k === 0 && { othersEnded: () => this.#othersEnded(s.queue, limitsOf) }),
        }),
    );
  }

  /**
   * Resolves once every shard but the first has ended its jobs in its stop, and the frees of
   * the other queues served (their shards' stops free only their own queue's) are made: they
   * too go through the first shard's connection.
   */
  async #othersEnded(first: string, limitsOf: Map<string, QueueLimits>): Promise<void> {
    await Promise.all(this.shardWorkers.slice(1).map((s) => s.ended));
    const others = [...limitsOf].filter(([queue]) => queue !== first);
    await Promise.all(others.map(([, limits]) => limits.settled()));
  }

  /** Each shard's normal view beats for its level views (lib/worker/upkeep.ts). */
  #beatForLevelViews(served: ServedShard[]): void {
    for (const [k, s] of served.entries()) {
      if (s.level === "normal") continue;
      const normal = served.findIndex(
        (n) => n.level === "normal" && n.queue === s.queue && n.keys.meta === s.keys.meta,
      );
      if (normal >= 0) this.shardWorkers[normal]!.jobs.levelViews.push(this.shardWorkers[k]!.jobs);
    }
  }

  /** Graceful stop of every shard (lib/worker/worker-stop.ts). */
  abstract stop(graceMs?: number): Promise<void>;
  /** A shard began stopping: the worker stops too, unless it is (its grace left as it is). */
  protected abstract joinStop(): void;

  /** A shard found the worker's name held by another start (lib/worker/worker-stop.ts). */
  protected abstract nameTaken(): void;

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

  #sum(count: (shard: ShardWorker) => number): number {
    return this.shardWorkers.reduce((n, s) => n + count(s), 0);
  }
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
    // `priority`, not `level`: a JSON line's `level` is the log level (warn, error), and a
    // high job's lines said "high" there, hidden from a filter on errors.
    ...(level === "normal" ? {} : { priority: level }),
  };
  return { log: (level, event, fields) => log.log(level, event, { ...fields, ...named }) };
}
