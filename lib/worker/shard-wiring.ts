// How one shard's worker is put together (the base of ShardWorker, lib/worker/shard.ts): its
// jobs (lib/worker/running.ts), read loops (loops.ts) and where they take jobs (take.ts), the
// timers (upkeep.ts), the graceful stop (stop.ts), Redis' memory watch, the queue's rate limits
// and flows, and the hooks between them, made once at its start.

import type { WorkerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { type Logger, throttled } from "../log.ts";
import { readParents } from "../queue/parents.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { MemoryWatch } from "../redis/memory.ts";
import { exponentialMs } from "../time.ts";
import type { Task } from "../types.ts";
import type { Startable } from "./entries.ts";
import { FlowDrain } from "./flows.ts";
import { holdForTask } from "./held.ts";
import { Leases } from "./leases.ts";
import { LimitGate } from "./limited.ts";
import { type Links, lanesOf } from "./links.ts";
import { LANE_MIN_CONCURRENCY, Lanes } from "./loops.ts";
import type { QueueLimits } from "./queue-limits.ts";
import { remakeQueue } from "./remake.ts";
import { Jobs } from "./running.ts";
import type { Slots } from "./slots.ts";
import { Stop } from "./stop.ts";
import { type Lane, Source } from "./take.ts";
import { Upkeep, watchMemory } from "./upkeep.ts";

/** What a shard's worker is given by its Worker. */
export interface ShardParts {
  o: WorkerOptions;
  queue: string;
  keys: QueueKeys;
  tasks: ReadonlyMap<string, Task>;
  /** The worker's logger; with several shards, one that names this shard in every line. */
  log: Logger;
  /** This shard's connections (opened for it: lib/worker/links.ts). */
  links: Links;
  slots: Slots;
  /** The rank of this shard's queue among the worker's queues (lib/worker/order.ts; 0 first). */
  rank?: number;
  /** The queue is paused (lib/worker/pause.ts): no job starts. */
  paused: () => boolean;
  /** This shard began to stop (told to, or refused for good): the worker stops every shard. */
  onStopping: () => void;
  /** This start's token, kept in the worker's hash (name.lua). */
  start: string;
  /** Another start holds the worker's name (heartbeat, own read): the worker stops every shard. */
  onNameTaken: () => void;
  /** Every shard of the queue (normal level), shard s at index s: where parents and children live. */
  queueKeys?: readonly QueueKeys[];
  /** Its queue's rate limits (lib/worker/limited.ts). */
  limits?: QueueLimits;
  /** The first shard's (its connection is the worker's shared one): see StopParts. */
  othersEnded?: () => Promise<void>;
}

/** What the shard's constructor made before its timers, for them (#newUpkeep). */
interface UpkeepParts {
  tasks: string[];
  leases: Leases;
  stalled: (connection: keyof Links) => void;
  flows: FlowDrain | undefined;
}

export abstract class ShardWiring {
  readonly keys: QueueKeys;
  protected readonly o: WorkerOptions;

  #tasks: ReadonlyMap<string, Task>;
  #log: Logger;
  protected readonly links: Links;
  #jobs: Jobs;

  /** The worker's logger (this shard's). */
  protected get log(): Logger {
    return this.#log;
  }
  /** This shard's jobs (a level view's, for its normal view's heartbeat). */
  get jobs(): Jobs {
    return this.#jobs;
  }
  /** This shard's graceful stop (lib/worker/stop.ts). */
  protected readonly shutdown: Stop;
  /** The read loops. */
  protected readonly loops: Lanes;
  /** Where each read loop takes new jobs (see lib/worker/loops.ts). */
  protected readonly lanes: Lane[];
  protected readonly upkeep: Upkeep;
  protected readonly source: Source;
  #commandFailed: (fields: Record<string, unknown>) => void;
  /** Whether Redis is full (refused a write, or over maxmemory at the last heartbeat). */
  protected readonly memory: MemoryWatch;
  /** The read loop; stop() waits for it, so nothing is launched after the worker stopped. */
  protected looping: Promise<void> = Promise.resolve();
  /** This start's token (name.lua). */
  protected readonly start: string;

  constructor(p: ShardParts) {
    const { o, links } = p;
    this.o = o;
    this.keys = p.keys;
    this.#tasks = p.tasks;
    this.#log = p.log;
    this.#commandFailed = throttled(this.#log, "redis command failed");
    this.memory = new MemoryWatch(this.#log, o.now, o.memoryHeadroomPct);
    this.links = links;
    const client = () => this.client;
    const stalled = (connection: keyof Links) => this.#stalled(connection);
    this.lanes = lanesOf(links, stalled);
    this.#jobs = this.#newJobs();
    const leases = new Leases(client, this.keys, o, (id) => this.#jobs.giveUp(id, "lease lost"));
    const tasks = [...this.#tasks.keys()];
    const compact = () => this.memory.fullSince !== null;
    this.start = p.start;
    this.source = this.#newSource(p, client, tasks, compact);
    this.#jobs.readsInFlight = () => this.source.reading;
    this.loops = this.#newLoops(p, client);
    const flows = this.#wireFlows(p.queueKeys ?? [this.keys], client);
    this.upkeep = this.#newUpkeep(p, { tasks, leases, stalled, flows });
    this.memory.onReadNeeded = () => void this.upkeep.readMemory().catch(this.#onRedisError);
    if (o.concurrency < LANE_MIN_CONCURRENCY) this.loops.takeInFinish(this.#onRedisError);
    this.loops.holdForReruns(compact);
    this.shutdown = this.#newStop(p, client);
  }

  /** This shard's jobs, reading on every lane's connection; a freed slot wakes the read loops. */
  #newJobs(): Jobs {
    const clients = () => this.lanes.map((l) => l.client());
    const jobs = new Jobs(clients, this.keys, this.o, this.#tasks, this.#log, this.#onRedisError);
    jobs.onFreed = () => this.loops.wake();
    watchMemory(jobs, this.memory, () => this.loops.wake());
    return jobs;
  }

  /** Where the read loops take new jobs (lib/worker/take.ts), through the rate limiter if any. */
  #newSource(p: ShardParts, client: () => Redis, tasks: string[], compact: () => boolean): Source {
    const { o } = p;
    const limit = p.limits && this.#limitGate(p.limits, client, p.paused, p.slots);
    return new Source(
      {
        o,
        keys: this.keys,
        tasks: new Set(tasks),
        compact,
        start: p.start,
        refused: (err) => this.shutdown.refused(err),
        ...(limit && { limit }),
      },
      { client, reader: () => this.#reader },
      this.#log,
      () => this.#stalled("blocking"),
      () => this.shutdown.stopping,
      this.#jobs.written,
      p.onNameTaken,
    );
  }

  /** The read loops (lib/worker/loops.ts). */
  #newLoops(p: ShardParts, client: () => Redis): Lanes {
    const { o } = p;
    const names = { prefix: o.prefix, queue: p.queue, shards: p.queueKeys?.length ?? 1 };
    return new Lanes({
      o,
      keys: this.keys,
      jobs: this.#jobs,
      source: this.source,
      log: this.#log,
      client,
      remake: () => remakeQueue(client(), names, this.keys),
      stopping: () => this.shutdown.stopping,
      // Paused: no slot is granted, so nothing is read, claimed, taken by a finish or started.
      take: (n) => (p.paused() ? 0 : this.memory.take(n)),
      paused: p.paused,
      refused: (err) => this.shutdown.refused(err),
      retryMs: (failures) => exponentialMs(100, failures, o.reconnectMaxMs),
      slots: p.slots,
      rank: p.rank,
      // Take mode only: from LANE_MIN_CONCURRENCY on, the two lanes' reads overlap already.
      prefetch: o.concurrency < LANE_MIN_CONCURRENCY ? o.prefetch : 0,
      refrain: () => this.memory.paused || p.limits?.mayApply() === true,
      full: () => this.memory.paused,
      start: p.start,
    });
  }

  /** Where a job's parents are read (every shard of `all`); a normal view's flow drain. */
  #wireFlows(all: readonly QueueKeys[], client: () => Redis): FlowDrain | undefined {
    this.#jobs.parentsOf = (id) => readParents(this.client, all, id);
    const flows = this.keys.level
      ? undefined
      : new FlowDrain(client, this.keys, all, this.o, this.#log);
    if (flows)
      this.#jobs.outcomes.onParentsEnded = () => void flows.drain().catch(this.#onRedisError);
    return flows;
  }

  /** The timers (lib/worker/upkeep.ts). */
  #newUpkeep(p: ShardParts, parts: UpkeepParts): Upkeep {
    const { o, links } = p;
    const { tasks, leases, stalled, flows } = parts;
    return new Upkeep({
      ...{ o, keys: this.keys, name: o.name, tasks, links, leases, stalled, flows },
      jobs: this.#jobs,
      memory: this.memory,
      onRedisError: this.#onRedisError,
      refused: (err) => this.shutdown.refused(err),
      log: this.#log,
      start: p.start,
      onNameTaken: p.onNameTaken,
    });
  }

  /** The graceful stop (lib/worker/stop.ts). */
  #newStop(p: ShardParts, client: () => Redis): Stop {
    const { o, links, limits } = p;
    return new Stop({
      ...{ o, keys: this.keys, log: this.#log, jobs: this.#jobs, loops: this.loops, links },
      upkeep: this.upkeep,
      client,
      looping: () => this.looping,
      onStopping: p.onStopping,
      start: p.start,
      ...(limits && { freeing: () => limits.settled() }),
      othersEnded: p.othersEnded,
    });
  }

  /** The rate limiter's gate for this shard's reads (lib/worker/limited.ts). */
  #limitGate(limits: QueueLimits, client: () => Redis, paused: () => boolean, slots: Slots) {
    const limitMsOf = (task: string) => this.#tasks.get(task)?.timeoutMs ?? this.o.jobTimeoutMs;
    const gate = new LimitGate(limits, this.#jobs, {
      ...{ keys: this.keys, o: this.o, log: this.#log, limitMsOf, client },
      stopping: () => this.shutdown.stopping,
      paused,
      full: () => slots.tasks >= slots.concurrency,
      readLost: () => this.source.readLost(),
    });
    const held = { client, keys: this.keys, o: this.o, log: this.#log };
    const holdKey = (key: string, ms: number) => limits.holdKey(key, ms);
    this.#jobs.onHeld = (job, ask) => holdForTask({ ...held, holdKey }, job, ask);
    return (run: Startable[], kind: "read" | "claim") => gate.gate(run, kind);
  }

  /** The current command connection (replaced when it stalls). */
  protected get client(): Redis {
    return this.links.commands.client;
  }

  get #reader(): Redis {
    return this.links.blocking.client;
  }

  #stalled(connection: keyof Links): void {
    // Stopping: the stop closes every link by its deadline; a replacement opened now would be
    // no one's, and keep the process alive after stop() resolved.
    if (this.shutdown.stopping) return;
    this.#log.log("warn", "redis connection stalled; reconnecting", { connection });
    this.links[connection]?.replace();
  }

  #onRedisError = (err: unknown, retryInMs?: number): void => {
    // Refused for lack of memory: one line when Redis becomes full, not one per attempt.
    if (this.memory.refused(err)) return;
    this.#commandFailed({ error: describeCause(err), retryInMs });
  };
}
