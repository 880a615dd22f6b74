// One shard's worker: read → run → write the outcome on one shard's keys, with leases renewed
// while jobs run, lapsed leases of dead workers claimed, due retries promoted, and a graceful
// stop. A Worker (lib/worker/worker.ts) runs one per shard of its queue, sharing one
// concurrency limit (lib/worker/slots.ts). The chain is told in docs/internals.md.
// Connections: lib/worker/links.ts; timers: lib/worker/upkeep.ts; stopping: lib/worker/stop.ts.

import type { WorkerOptions } from "../config.ts";
import { stampFormat } from "../engine/format.ts";
import type { QueueKeys } from "../engine/keys.ts";
import type { CourierError } from "../errors.ts";
import { type Logger, throttled } from "../log.ts";
import { readParents } from "../queue/parents.ts";
import { describeCause } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { MemoryWatch } from "../redis/memory.ts";
import { checkPermissions, workerCommands } from "../redis/permissions.ts";
import { exponentialMs } from "../time.ts";
import type { Task } from "../types.ts";
import { ensureGroup, type Startable } from "./entries.ts";
import { FlowDrain } from "./flows.ts";
import { holdForTask } from "./held.ts";
import { Leases } from "./leases.ts";
import { LimitGate } from "./limited.ts";
import { type Links, lanesOf, linksReady } from "./links.ts";
import { LANE_MIN_CONCURRENCY, Lanes } from "./loops.ts";
import { claimName, handOverPredecessor } from "./presence.ts";
import type { QueueLimits } from "./queue-limits.ts";
import { Jobs } from "./running.ts";
import type { Slots } from "./slots.ts";
import { Stop } from "./stop.ts";
import { type Lane, Source } from "./take.ts";
import { Upkeep, watchMemory } from "./upkeep.ts";

/** What a shard's worker is given by its Worker. */
export interface ShardParts {
  o: WorkerOptions;
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
}

export class ShardWorker {
  readonly keys: QueueKeys;
  private readonly o: WorkerOptions;
  /** This start claimed the worker's name in this shard (a failed start frees it). */
  claimed = false;

  #tasks: ReadonlyMap<string, Task>;
  #log: Logger;
  #links: Links;
  #jobs: Jobs;

  /** This shard's jobs (a level view's, for its normal view's heartbeat). */
  get jobs(): Jobs {
    return this.#jobs;
  }
  #stop: Stop;
  /** The read loops. */
  #loops: Lanes;
  /** Where each read loop takes new jobs (see lib/worker/loops.ts). */
  #lanes: Lane[];
  #upkeep: Upkeep;
  #source: Source;
  #commandFailed: (fields: Record<string, unknown>) => void;
  /** Whether Redis is full (refused a write, or over maxmemory at the last heartbeat). */
  #memory: MemoryWatch;
  /** The read loop; stop() waits for it, so nothing is launched after the worker stopped. */
  #looping: Promise<void> = Promise.resolve();
  #ended = false;
  /** This start's token (name.lua). */
  #start: string;

  constructor(p: ShardParts) {
    const { o, links } = p;
    this.o = o;
    this.keys = p.keys;
    this.#tasks = p.tasks;
    this.#log = p.log;
    this.#commandFailed = throttled(this.#log, "redis command failed");
    this.#memory = new MemoryWatch(this.#log, o.now, o.memoryHeadroomPct);
    this.#links = links;
    const client = () => this.#client;
    const stalled = (connection: keyof Links) => this.#stalled(connection);
    this.#lanes = lanesOf(links, stalled);
    const clients = () => this.#lanes.map((l) => l.client());
    this.#jobs = new Jobs(clients, this.keys, o, this.#tasks, this.#log, this.#onRedisError);
    this.#jobs.onFreed = () => this.#loops.wake();
    watchMemory(this.#jobs, this.#memory, () => this.#loops.wake());
    const leases = new Leases(client, this.keys, o, (id) => this.#jobs.giveUp(id, "lease lost"));
    const tasks = [...this.#tasks.keys()];
    const compact = () => this.#memory.fullSince !== null;
    const limit = p.limits && this.#limitGate(p.limits, client, p.paused, p.slots);
    this.#start = p.start;
    this.#source = new Source(
      {
        o,
        keys: this.keys,
        tasks: new Set(tasks),
        compact,
        start: p.start,
        ...(limit && { limit }),
      },
      { client, reader: () => this.#reader },
      this.#log,
      () => this.#stalled("blocking"),
      () => this.#stop.stopping,
      this.#jobs.written,
      p.onNameTaken,
    );
    this.#jobs.readsInFlight = () => this.#source.reading;
    this.#loops = new Lanes({
      o,
      keys: this.keys,
      jobs: this.#jobs,
      source: this.#source,
      log: this.#log,
      client,
      stopping: () => this.#stop.stopping,
      // Paused: no slot is granted, so nothing is read, claimed, taken by a finish or started.
      take: (n) => (p.paused() ? 0 : this.#memory.take(n)),
      paused: p.paused,
      refused: (err) => this.#stop.refused(err),
      retryMs: (failures) => exponentialMs(100, failures, o.reconnectMaxMs),
      slots: p.slots,
      rank: p.rank,
      // Take mode only: from LANE_MIN_CONCURRENCY on, the two lanes' reads overlap already.
      prefetch: o.concurrency < LANE_MIN_CONCURRENCY ? o.prefetch : 0,
      refrain: () => this.#memory.paused || p.limits?.mayApply() === true,
      full: () => this.#memory.paused,
      start: p.start,
    });
    const all = p.queueKeys ?? [this.keys];
    this.#jobs.parentsOf = (id) => readParents(this.#client, all, id);
    const flows = this.keys.level ? undefined : new FlowDrain(client, this.keys, all, o, this.#log);
    if (flows)
      this.#jobs.outcomes.onParentsEnded = () => void flows.drain().catch(this.#onRedisError);
    this.#upkeep = new Upkeep({
      ...{ o, keys: this.keys, name: o.name, tasks, links, leases, stalled, flows },
      jobs: this.#jobs,
      memory: this.#memory,
      onRedisError: this.#onRedisError,
      start: p.start,
      onNameTaken: p.onNameTaken,
    });
    this.#memory.onReadNeeded = () => void this.#upkeep.readMemory().catch(this.#onRedisError);
    if (o.concurrency < LANE_MIN_CONCURRENCY) this.#loops.takeInFinish(this.#onRedisError);
    this.#loops.holdForReruns(compact);
    this.#stop = new Stop({
      ...{ o, keys: this.keys, log: this.#log, jobs: this.#jobs, loops: this.#loops, links },
      upkeep: this.#upkeep,
      client,
      looping: () => this.#looping,
      onStopping: p.onStopping,
      start: p.start,
    });
  }

  /** The rate limiter's gate for this shard's reads (lib/worker/limited.ts). */
  #limitGate(limits: QueueLimits, client: () => Redis, paused: () => boolean, slots: Slots) {
    const limitMsOf = (task: string) => this.#tasks.get(task)?.timeoutMs ?? this.o.jobTimeoutMs;
    const gate = new LimitGate(limits, this.#jobs, {
      ...{ keys: this.keys, o: this.o, log: this.#log, limitMsOf, client },
      stopping: () => this.#stop.stopping,
      paused,
      full: () => slots.tasks >= slots.concurrency,
      readLost: () => this.#source.readLost(),
    });
    const held = { client, keys: this.keys, o: this.o, log: this.#log };
    const holdKey = (key: string, ms: number) => limits.holdKey(key, ms);
    this.#jobs.onHeld = (job, ask) => holdForTask({ ...held, holdKey }, job, ask);
    return (run: Startable[], kind: "read" | "claim") => gate.gate(run, kind);
  }

  /**
   * Readies the shard: permissions (`check`: with one shard the worker checked them already),
   * its format stamp, the group, the worker's name, a predecessor's entries handed over, and
   * Redis' memory read (a full Redis is known before the first job is taken).
   */
  async open(check: boolean): Promise<void> {
    const { o, keys } = this;
    if (check) await checkPermissions(this.#client, workerCommands(keys, o.name), o.prefix);
    await stampFormat(this.#client, keys); // before anything is written there
    await ensureGroup(this.#client, keys);
    await claimName(this.#client, keys, o, this.#start);
    this.claimed = !keys.level; // a level's view claims nothing (presence.ts)
    await handOverPredecessor(this.#client, keys, o.name);
    await this.#upkeep.readMemory();
  }

  /** The pause began or ended (lib/worker/pause.ts): the read loops and held entries look again. */
  wake(): void {
    this.#loops.wake();
  }

  /** Own pending entries may have been left unseen (a connection is back): read them. */
  readLost(): void {
    this.#source.readLost();
  }

  get failure(): CourierError | null {
    return this.#stop.failure;
  }

  /** Another start holds the name: the stop to come leaves nothing (Stop.nameTaken). */
  nameTaken(failure: CourierError): void {
    this.#stop.nameTaken(failure);
  }

  get stopped(): Promise<void> {
    return this.#stop.stopped;
  }

  get processed(): number {
    return this.#jobs.processed;
  }

  get failed(): number {
    return this.#jobs.failed;
  }

  get inFlight(): number {
    return this.#jobs.inFlight;
  }

  /** The current command connection (replaced when it stalls). */
  get #client(): Redis {
    return this.#links.commands.client;
  }

  get #reader(): Redis {
    return this.#links.blocking.client;
  }

  /** Connected to Redis and reading (for /healthz). */
  ready(): boolean {
    return !this.#stop.stopping && linksReady(this.#links);
  }

  /** Why this shard cannot make (full) progress, for /healthz; null when nothing is wrong. */
  problem(): string | null {
    if (this.#stop.stopping) return "stopping";
    if (!this.ready()) return "not connected to redis";
    return this.#memory.reason();
  }

  /** Ms since a read loop's last turn (for /livez); 0 once the loops have ended (burst mode). */
  get quietMs(): number {
    return this.#ended ? 0 : performance.now() - this.#loops.lastTurn;
  }

  /** Starts the timers and the read loops; resolves when the loops have ended. */
  run(): Promise<void> {
    this.#upkeep.start();
    this.#looping = this.#loops.run(this.#lanes).finally(() => {
      this.#ended = true;
    });
    return this.#looping;
  }

  /** Graceful stop of this shard (docs/internals.md, "8. Shutdown"). Safe to call more than once. */
  stop(graceMs: number): Promise<void> {
    return this.#stop.stop(graceMs);
  }

  #stalled(connection: keyof Links): void {
    this.#log.log("warn", "redis connection stalled; reconnecting", { connection });
    this.#links[connection]?.replace();
  }

  #onRedisError = (err: unknown, retryInMs?: number): void => {
    // Refused for lack of memory: one line when Redis becomes full, not one per attempt.
    if (this.#memory.refused(err)) return;
    this.#commandFailed({ error: describeCause(err), retryInMs });
  };
}
