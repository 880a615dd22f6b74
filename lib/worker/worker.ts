// The worker: read → start → run → settle, with leases renewed while jobs run, lapsed leases
// of dead workers claimed, due retries promoted, and a graceful stop. The chain is told in
// docs/internals.md.

import { randomBytes } from "node:crypto";
import { resolveOptions, type WorkerOptions } from "../config.ts";
import { stampFormat } from "../engine/format.ts";
import { type QueueKeys, queueKeys } from "../engine/keys.ts";
import { type Logger, silentLogger, throttled } from "../log.ts";
import {
  defaultWorkerName,
  describeCause,
  maskUrl,
  type Redis,
  serverWarnings,
} from "../redis/connect.ts";
import { Link } from "../redis/link.ts";
import { MemoryWatch, readMemory } from "../redis/memory.ts";
import { Outage } from "../redis/outage.ts";
import { checkPermissions, workerCommands } from "../redis/permissions.ts";
import { guard } from "../redis/watchdog.ts";
import { every, within } from "../time.ts";
import type { Task } from "../types.ts";
import { ensureGroup } from "./entries.ts";
import { type HealthServer, serveHealth } from "./health.ts";
import { Leases } from "./leases.ts";
import { LANE_MIN_CONCURRENCY, Lanes } from "./loops.ts";
import { claimName, forgetName, heartbeat, leave, promoteDue } from "./presence.ts";
import { Jobs } from "./running.ts";
import { type Lane, Source } from "./take.ts";

/** How often Redis' memory is read while it is full. */
const FULL_POLL_MS = 200;

export interface WorkerConfig extends Partial<WorkerOptions> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logger?: Logger;
}

/**
 * Commands on one connection; the blocking read on its own, so it never delays a command; and,
 * with two lanes, the second lane's takes and half the outcome writes on a third (lib/worker/loops.ts).
 */
interface Links {
  commands: Link;
  reads: Link;
  lane: Link | null;
}

export class Worker {
  readonly options: WorkerOptions;
  readonly keys: QueueKeys;
  readonly name: string;
  /**
   * Unique to this Worker instance (made as it starts): a worker restarted under the same name
   * is another process, and the jobs its predecessor started count as attempts used
   * (lib/engine/lua/start-7.lua). 72 random bits, short: it is stored in each started job's record.
   */
  readonly boot = randomBytes(9).toString("base64url");
  /** Resolves when the worker has stopped and closed its connections. */
  readonly stopped: Promise<void>;

  #tasks: Map<string, Task>;
  #log: Logger;
  #links: Links;
  #jobs: Jobs;
  #leases: Leases;
  #stopping = false;
  #reads: Lanes;
  /** Where each read loop takes new jobs (see lib/worker/loops.ts). */
  #lanes: Lane[];
  #timers: (() => void)[] = [];
  #leaseTimer: ReturnType<typeof setInterval> | undefined;
  #source: Source;
  #resolveStopped!: () => void;
  #health: HealthServer | null = null;
  #commandFailed: (fields: Record<string, unknown>) => void;
  /** Whether Redis is full (refused a write, or over maxmemory at the last heartbeat). */
  #memory: MemoryWatch;
  #memoryRead: Promise<void> | null = null;
  /** The read loop; stop() waits for it, so nothing is launched after the worker stopped. */
  #looping: Promise<void> = Promise.resolve();

  private constructor(config: WorkerConfig, o: WorkerOptions, links: Links) {
    this.options = o;
    this.name = o.name;
    this.keys = queueKeys(o.prefix, o.queue);
    this.#tasks = new Map(config.tasks.map((t) => [t.name, t as Task]));
    this.#log = config.logger ?? silentLogger;
    this.#commandFailed = throttled(this.#log, "redis command failed");
    this.#memory = new MemoryWatch(this.#log, o.now, o.memoryHeadroomPct);
    this.#links = links;
    const client = () => this.#client;
    this.#lanes = this.#makeLanes();
    const clients = () => this.#lanes.map((l) => l.client());
    this.#jobs = new Jobs(clients, this.keys, o, this.#tasks, this.#log, this.#onRedisError);
    this.#jobs.onFreed = () => this.#reads.wake();
    this.#jobs.settler.onRecovered = () => this.#memory.wrote();
    this.#jobs.settler.compactFailures = () => this.#memory.fullSince !== null;
    // What takes memory: a result, a retry, a failed record kept (Redis not full: not compact).
    this.#jobs.onOutcome = (outcome, reply) =>
      this.#memory.settled(
        reply === 1 || (outcome.kind === "fail" && reply === 2 && this.#memory.fullSince === null),
      );
    this.#leases = new Leases(client, this.keys, o, (id) => this.#jobs.giveUp(id, "lease lost"));
    const reader = () => this.#reader;
    this.#source = new Source(
      { o, keys: this.keys, tasks: [...this.#tasks.keys()], boot: this.boot },
      { client, reader },
      this.#log,
      () => this.#stalled("reads"),
      () => this.#stopping,
    );
    this.#reads = new Lanes({
      o,
      keys: this.keys,
      jobs: this.#jobs,
      source: this.#source,
      log: this.#log,
      client,
      stopping: () => this.#stopping,
      take: (n) => this.#memory.take(n),
    });
    this.#memory.onChange = () => this.#reads.wake();
    this.#memory.onReadNeeded = () => void this.#readMemory().catch(this.#onRedisError);
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** Connects, joins the consumer group and starts processing. */
  static async start(config: WorkerConfig): Promise<Worker> {
    const o = resolveOptions({ ...config, name: config.name || defaultWorkerName() });
    const outage = new Outage(config.logger ?? silentLogger, maskUrl(o.redisUrl));
    config = { ...config, logger: outage.logger };
    const opened: Link[] = [];
    let claimed = false;
    const open = async (name: string) => {
      const lost = (cause: string) => outage.lost(name, cause);
      const link = await Link.open(o, `${name}-${o.name}`, lost, () => outage.back(name));
      opened.push(link);
      return link;
    };
    try {
      const links: Links = {
        commands: await open("courier-worker"),
        reads: await open("courier-reader"),
        lane: o.concurrency >= LANE_MIN_CONCURRENCY ? await open("courier-lane") : null,
      };
      const worker = new Worker(config, o, links);
      await checkPermissions(worker.#client, workerCommands(worker.keys, o.name), o.prefix);
      await stampFormat(worker.#client, worker.keys); // before anything is written there
      await ensureGroup(worker.#client, worker.keys);
      await claimName(worker.#client, worker.keys, o);
      claimed = true;
      await worker.#readMemory(); // a full Redis is known before the first job is taken
      // Before any log line: a port in use is a usage error, said alone (exit 2).
      if (o.healthPort > 0) worker.#health = serveHealth(worker, o.healthPort, o.healthHost);
      for (const w of await serverWarnings(worker.#client)) config.logger?.log("warn", w);
      worker.#begin();
      return worker;
    } catch (err) {
      // A name this start claimed is freed (the same process may start it again); one refused
      // as already running here stays the other worker's.
      if (claimed) forgetName(queueKeys(o.prefix, o.queue), o.name);
      for (const link of opened) link.destroy(); // a failed start leaves nothing open behind it
      throw err;
    }
  }

  /** Jobs this worker has finished (recorded) since it started. */
  get processed(): number {
    return this.#jobs.processed;
  }

  /** Failed attempts (retried or not) since it started. */
  get failed(): number {
    return this.#jobs.failed;
  }

  /** The current command connection (replaced when it stalls). */
  get #client(): Redis {
    return this.#links.commands.client;
  }

  get #reader(): Redis {
    return this.#links.reads.client;
  }

  get inFlight(): number {
    return this.#jobs.inFlight;
  }

  /** Port of the health server (0 when there is none). */
  get healthPort(): number {
    return this.#health?.port ?? 0;
  }

  /** Connected to Redis and reading (for /healthz). */
  ready(): boolean {
    const lane = this.#links.lane;
    return (
      !this.#stopping &&
      this.#client.isReady &&
      this.#reader.isReady &&
      (lane?.client.isReady ?? true)
    );
  }

  /** Why the worker cannot make (full) progress, for /healthz; null when nothing is wrong. */
  problem(): string | null {
    if (this.#stopping) return "stopping";
    if (!this.ready()) return "not connected to redis";
    return this.#memory.reason();
  }

  /** The read loop turned recently, or waits for busy slots, or is stopping (for /livez). */
  live(): boolean {
    const o = this.options;
    const quietMs = performance.now() - this.#reads.lastTurn;
    const slotsFull = this.#jobs.size >= o.concurrency;
    return this.#stopping || slotsFull || quietMs < 3 * (o.blockMs + o.commandTimeoutMs);
  }

  #begin(): void {
    const o = this.options;
    this.#log.log("info", "worker started", {
      worker: this.name,
      queue: o.queue,
      concurrency: o.concurrency,
      tasks: [...this.#tasks.keys()].join(","),
      health: this.#health ? `:${this.#health.port}` : undefined,
    });
    // The promote call also probes the command connection: no reply in time means it stalled.
    // The lane connection gets a PING (its takes are guarded, but not its starts and writes).
    this.#every(o.promoteEveryMs, () => {
      const lane = this.#links.lane;
      const probe =
        lane && guard(lane.client.ping(), o.commandTimeoutMs, () => this.#stalled("lane"));
      const promote = guard(promoteDue(this.#client, this.keys), o.commandTimeoutMs, () =>
        this.#stalled("commands"),
      );
      return Promise.all([promote, probe]);
    });
    this.#every(o.heartbeatEveryMs, () => this.#heartbeat());
    // While Redis is full, its memory is read more often than at each heartbeat: draining
    // moves it quickly, and a paused worker should resume soon after there is room.
    this.#every(Math.min(FULL_POLL_MS, o.heartbeatEveryMs), () =>
      this.#memory.fullSince === null ? Promise.resolve() : this.#readMemory(),
    );
    this.#leaseTimer = setInterval(() => void this.#renewLeases(), this.#leases.everyMs);
    void this.#heartbeat().catch(this.#onRedisError);
    this.#looping = this.#reads.run(this.#lanes).then(() => {
      if (!this.#stopping) void this.stop(); // burst mode: the queue is drained
    });
  }

  #every(ms: number, fn: () => Promise<unknown>): void {
    this.#timers.push(every(ms, fn, this.#onRedisError));
  }

  /** The lanes' connections: the command one, and the lane one when there are two. */
  #makeLanes(): Lane[] {
    const { commands, lane } = this.#links;
    const first = { client: () => commands.client, stalled: () => this.#stalled("commands") };
    if (!lane) return [first];
    return [first, { client: () => lane.client, stalled: () => this.#stalled("lane") }];
  }

  #renewLeases(): Promise<void> {
    return this.#leases.renew(this.name, this.#jobs.entryIds()).catch(this.#onRedisError);
  }

  /**
   * Graceful stop: no new reads or claims; in-flight jobs get `graceMs` to finish; what is
   * still running then is given up and released at once to other workers; the worker then
   * leaves the group and closes its connections. Safe to call more than once.
   */
  async stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    if (this.#stopping) return this.stopped;
    this.#stopping = true;
    for (const stopTimer of this.#timers.splice(0)) stopTimer();
    this.#health?.stop();
    // Interrupts the blocking read; anything it was delivered is released below.
    this.#links.reads.destroy();
    this.#reads.wake();
    await within(this.#looping, this.options.commandTimeoutMs); // a start in flight lands first
    if (this.#jobs.size > 0) {
      this.#log.log("info", "stopping: waiting for jobs in flight", {
        inFlight: this.#jobs.size,
        graceMs,
      });
      await within(this.#jobs.empty(), graceMs);
    }
    this.#jobs.giveUpAll("shutdown");
    this.#jobs.close();
    await within(this.#jobs.settler.drained(), graceMs + this.options.reconnectMaxMs);
    clearInterval(this.#leaseTimer);
    await leave(this.#client, this.keys, this.name, this.boot)
      .then((n) => n > 0 && this.#log.log("info", "released unfinished jobs", { count: n }))
      .catch((err) =>
        this.#log.log("warn", "could not release jobs", { error: describeCause(err) }),
      );
    // Outcomes still unwritten (Redis away past the grace period): their entries stay pending
    // and other workers claim them after claimIdleMs.
    const unwritten = this.#jobs.settler.close();
    if (unwritten > 0)
      this.#log.log("warn", "stopped with unwritten outcomes", { count: unwritten });
    await Promise.all([this.#links.commands.close(), this.#links.lane?.close()]);
    this.#log.log("info", "worker stopped", {
      worker: this.name,
      finished: this.processed,
      failedAttempts: this.failed,
    });
    this.#resolveStopped();
  }

  /** Beats, and reads Redis' memory: the one place a worker learns that Redis is full again. */
  async #heartbeat(): Promise<void> {
    const { inFlight, processed, failed } = this.#jobs;
    const counts = { inFlight, processed, failed };
    await Promise.all([
      heartbeat(this.#client, this.keys, this.options, counts, [...this.#tasks.keys()]),
      this.#readMemory(),
    ]);
  }

  /** Reads Redis' memory; one read at a time (a read asked for meanwhile gets that one). */
  #readMemory(): Promise<void> {
    this.#memoryRead ??= readMemory(this.#client)
      .then((m) => this.#memory.observe(m))
      .finally(() => {
        this.#memoryRead = null;
      });
    return this.#memoryRead;
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
