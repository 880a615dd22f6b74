// The worker: read → run → write the outcome, with leases renewed while jobs run,
// lapsed leases of dead workers claimed, due retries promoted, and a graceful stop. The chain
// is told in docs/internals.md. Connections: lib/worker/links.ts; timers: lib/worker/upkeep.ts;
// stopping: lib/worker/stop.ts.

import { resolveOptions, type WorkerOptions } from "../config.ts";
import { stampFormat } from "../engine/format.ts";
import { type QueueKeys, queueKeys } from "../engine/keys.ts";
import type { RedisRefusedError } from "../errors.ts";
import { type Logger, silentLogger, throttled } from "../log.ts";
import { describeCause } from "../redis/cause.ts";
import { defaultWorkerName, lostWhileStarting, type Redis } from "../redis/connect.ts";
import { MemoryWatch } from "../redis/memory.ts";
import { Outage } from "../redis/outage.ts";
import { checkPermissions, workerCommands } from "../redis/permissions.ts";
import { serverWarnings } from "../redis/server.ts";
import { maskUrl } from "../redis/url.ts";
import { exponentialMs } from "../time.ts";
import type { Task } from "../types.ts";
import { ensureGroup } from "./entries.ts";
import { type HealthServer, hostPort, serveHealth } from "./health.ts";
import { Leases } from "./leases.ts";
import { destroyLinks, type Links, lanesOf, linksReady, openLinks } from "./links.ts";
import { LANE_MIN_CONCURRENCY, Lanes } from "./loops.ts";
import { claimName, forgetName, handOverPredecessor } from "./presence.ts";
import { Jobs } from "./running.ts";
import { Stop } from "./stop.ts";
import { type Lane, Source } from "./take.ts";
import { Upkeep, watchMemory } from "./upkeep.ts";

export interface WorkerConfig extends Partial<WorkerOptions> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logger?: Logger;
}

export class Worker {
  readonly options: WorkerOptions;
  readonly keys: QueueKeys;
  readonly name: string;

  #tasks: Map<string, Task>;
  #log: Logger;
  #links: Links;
  #jobs: Jobs;
  #stop: Stop;
  /** The read loops. */
  #loops: Lanes;
  /** Where each read loop takes new jobs (see lib/worker/loops.ts). */
  #lanes: Lane[];
  #upkeep: Upkeep;
  #source: Source;
  #health: HealthServer | null = null;
  #commandFailed: (fields: Record<string, unknown>) => void;
  /** Whether Redis is full (refused a write, or over maxmemory at the last heartbeat). */
  #memory: MemoryWatch;
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
    const stalled = (connection: keyof Links) => this.#stalled(connection);
    this.#lanes = lanesOf(links, stalled);
    const clients = () => this.#lanes.map((l) => l.client());
    this.#jobs = new Jobs(clients, this.keys, o, this.#tasks, this.#log, this.#onRedisError);
    this.#jobs.onFreed = () => this.#loops.wake();
    watchMemory(this.#jobs, this.#memory, () => this.#loops.wake());
    const leases = new Leases(client, this.keys, o, (id) => this.#jobs.giveUp(id, "lease lost"));
    const tasks = [...this.#tasks.keys()];
    const compact = () => this.#memory.fullSince !== null;
    this.#source = new Source(
      { o, keys: this.keys, tasks: new Set(tasks), compact },
      { client, reader: () => this.#reader },
      this.#log,
      () => this.#stalled("blocking"),
      () => this.#stop.stopping,
    );
    this.#loops = new Lanes({
      o,
      keys: this.keys,
      jobs: this.#jobs,
      source: this.#source,
      log: this.#log,
      client,
      stopping: () => this.#stop.stopping,
      take: (n) => this.#memory.take(n),
      refused: (err) => this.#stop.refused(err),
      retryMs: (failures) => exponentialMs(100, failures, o.reconnectMaxMs),
    });
    this.#upkeep = new Upkeep({
      ...{ o, keys: this.keys, name: this.name, tasks, links, leases, stalled },
      jobs: this.#jobs,
      memory: this.#memory,
      onRedisError: this.#onRedisError,
    });
    this.#memory.onReadNeeded = () => void this.#upkeep.readMemory().catch(this.#onRedisError);
    if (o.concurrency < LANE_MIN_CONCURRENCY) this.#loops.takeInFinish(this.#onRedisError);
    this.#loops.holdForReruns(compact);
    this.#stop = new Stop({
      ...{ o, keys: this.keys, log: this.#log, jobs: this.#jobs, loops: this.#loops, links },
      upkeep: this.#upkeep,
      client,
      health: () => this.#health,
      looping: () => this.#looping,
    });
  }

  /** Connects, joins the consumer group and starts processing. */
  static async start(config: WorkerConfig): Promise<Worker> {
    const o = resolveOptions({ ...config, name: config.name || defaultWorkerName() });
    const outage = new Outage(config.logger ?? silentLogger, maskUrl(o.redisUrl));
    config = { ...config, logger: outage.logger };
    const links = await openLinks(o, outage);
    let claimed = false;
    try {
      const worker = new Worker(config, o, links);
      // A connection back (Redis restarted, or one replaced): Redis may hold entries pending on
      // this worker that it does not know of (their acknowledgements lost with the AOF's last
      // writes), and no read of its failed to say so when its slots were all busy: read them
      // again. A worker never claims its own entries: nothing else would run them while it lives.
      outage.onReady = () => worker.#source.readLost();
      await checkPermissions(worker.#client, workerCommands(worker.keys, o.name), o.prefix);
      await stampFormat(worker.#client, worker.keys); // before anything is written there
      await ensureGroup(worker.#client, worker.keys);
      await claimName(worker.#client, worker.keys, o);
      claimed = true;
      await handOverPredecessor(worker.#client, worker.keys, o.name);
      await worker.#upkeep.readMemory(); // a full Redis is known before the first job is taken
      // Before any log line: a port in use is a usage error, said alone (exit 2).
      if (o.healthPort > 0) worker.#health = serveHealth(worker, o.healthPort, o.healthHost);
      for (const w of await serverWarnings(worker.#client)) config.logger?.log("warn", w);
      worker.#begin();
      return worker;
    } catch (err) {
      // A name this start claimed is freed (the same process may start it again); one refused
      // as already running here stays the other worker's.
      if (claimed) forgetName(queueKeys(o.prefix, o.queue), o.name);
      destroyLinks(links); // a failed start leaves nothing open behind it
      throw lostWhileStarting(err, o.redisUrl, "while the worker started");
    }
  }

  /**
   * Why the worker stopped by itself, or null: Redis refused its reads for good (a queue key
   * holding another type of value than Courier writes, or NOPERM), an operator's error that
   * no retry fixes. Set before `stopped` resolves.
   */
  get failure(): RedisRefusedError | null {
    return this.#stop.failure;
  }

  /** Resolves when the worker has stopped and closed its connections. */
  get stopped(): Promise<void> {
    return this.#stop.stopped;
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
    return this.#links.blocking.client;
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
    return !this.#stop.stopping && linksReady(this.#links);
  }

  /** Why the worker cannot make (full) progress, for /healthz; null when nothing is wrong. */
  problem(): string | null {
    if (this.#stop.stopping) return "stopping";
    if (!this.ready()) return "not connected to redis";
    return this.#memory.reason();
  }

  /** The read loop turned recently, or waits for busy slots, or is stopping (for /livez). */
  live(): boolean {
    const o = this.options;
    const quietMs = performance.now() - this.#loops.lastTurn;
    const slotsFull = this.#jobs.size >= o.concurrency;
    return this.#stop.stopping || slotsFull || quietMs < 3 * (o.blockMs + o.commandTimeoutMs);
  }

  #begin(): void {
    const o = this.options;
    this.#log.log("info", "worker started", {
      worker: this.name,
      queue: o.queue,
      concurrency: o.concurrency,
      tasks: [...this.#tasks.keys()].join(","),
      // host:port, as bound: `:port` alone would hide a health server reachable on loopback only
      health: this.#health ? hostPort(o.healthHost, this.#health.port) : undefined,
    });
    this.#upkeep.start();
    this.#looping = this.#loops.run(this.#lanes).then(() => {
      if (!this.#stop.stopping) void this.stop(); // burst mode: the queue is drained
    });
  }

  /**
   * Graceful stop: no new reads or claims; in-flight jobs get `graceMs` to finish; what is
   * still running then is given up and released at once to other workers; the worker then
   * leaves the group and closes its connections. Safe to call more than once.
   */
  stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
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
