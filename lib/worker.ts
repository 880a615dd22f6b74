// The worker: read → start → run → settle, with leases renewed while jobs run, lapsed leases
// of dead workers claimed, due retries promoted, and a graceful stop. The chain is told in
// docs/internals.md.

import { ensureGroup, SETTLED_WHY, startBatch } from "./_fetch.ts";
import { Jobs } from "./_jobs.ts";
import { Leases } from "./_leases.ts";
import { Link } from "./_link.ts";
import { heartbeat, leave, promoteDue } from "./_presence.ts";
import { Source } from "./_source.ts";
import { every, within } from "./_time.ts";
import { guard } from "./_watchdog.ts";
import { resolveOptions, type WorkerOptions } from "./config.ts";
import { defaultWorkerName, describeCause, type Redis, serverWarnings } from "./connect.ts";
import { type HealthServer, serveHealth } from "./health.ts";
import { type QueueKeys, queueKeys } from "./keys.ts";
import { type Logger, silentLogger, throttled } from "./log.ts";
import type { Task } from "./types.ts";

export interface WorkerConfig extends Partial<WorkerOptions> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logger?: Logger;
}

/** Commands on one connection; the blocking read on its own, so it never delays a command. */
interface Links {
  commands: Link;
  reads: Link;
}

export class Worker {
  readonly options: WorkerOptions;
  readonly keys: QueueKeys;
  readonly name: string;
  /** Resolves when the worker has stopped and closed its connections. */
  readonly stopped: Promise<void>;

  #tasks: Map<string, Task>;
  #log: Logger;
  #links: Links;
  #jobs: Jobs;
  #leases: Leases;
  #stopping = false;
  #slotFreed: (() => void) | null = null;
  #timers: (() => void)[] = [];
  #leaseTimer: ReturnType<typeof setInterval> | undefined;
  #source: Source;
  #resolveStopped!: () => void;
  #health: HealthServer | null = null;
  #commandFailed: (fields: Record<string, unknown>) => void;
  /** The read loop; stop() waits for it, so nothing is launched after the worker stopped. */
  #looping: Promise<void> = Promise.resolve();
  /** Monotonic ms of the read loop's last turn, for /livez. */
  #lastTurn = performance.now();

  private constructor(config: WorkerConfig, o: WorkerOptions, links: Links) {
    this.options = o;
    this.name = o.name;
    this.keys = queueKeys(o.prefix, o.queue);
    this.#tasks = new Map(config.tasks.map((t) => [t.name, t as Task]));
    this.#log = config.logger ?? silentLogger;
    this.#commandFailed = throttled(this.#log, "redis command failed");
    this.#links = links;
    const client = () => this.#client;
    this.#jobs = new Jobs(client, this.keys, o, this.#tasks, this.#log, this.#onRedisError);
    this.#jobs.onFreed = () => {
      const wake = this.#slotFreed;
      this.#slotFreed = null;
      wake?.();
    };
    this.#leases = new Leases(client, this.keys, o, (id) => this.#jobs.giveUp(id, "lease lost"));
    const reader = () => this.#reader;
    this.#source = new Source(o, this.keys, { client, reader }, this.#log, () =>
      this.#stalled("reads"),
    );
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** Connects, joins the consumer group and starts processing. */
  static async start(config: WorkerConfig): Promise<Worker> {
    const o = resolveOptions({ ...config, name: config.name || defaultWorkerName() });
    const onError = (message: string) =>
      config.logger?.log("warn", "redis connection error", { error: message });
    const links = {
      commands: await Link.open(o, `courier-worker-${o.name}`, onError),
      reads: await Link.open(o, `courier-reader-${o.name}`, onError),
    };
    const worker = new Worker(config, o, links);
    try {
      await ensureGroup(worker.#client, worker.keys);
      for (const w of await serverWarnings(worker.#client)) config.logger?.log("warn", w);
      if (o.healthPort > 0) worker.#health = serveHealth(worker, o.healthPort, o.healthHost);
    } catch (err) {
      links.commands.destroy(); // a failed start leaves nothing open behind it
      links.reads.destroy();
      throw err;
    }
    worker.#begin();
    return worker;
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
    return !this.#stopping && this.#client.isReady && this.#reader.isReady;
  }

  /** The read loop turned recently, or waits for busy slots, or is stopping (for /livez). */
  live(): boolean {
    const o = this.options;
    const quietMs = performance.now() - this.#lastTurn;
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
    this.#every(o.promoteEveryMs, () =>
      guard(promoteDue(this.#client, this.keys, o), o.commandTimeoutMs, () =>
        this.#stalled("commands"),
      ),
    );
    this.#every(o.heartbeatEveryMs, () => this.#heartbeat());
    this.#leaseTimer = setInterval(() => void this.#renewLeases(), this.#leases.everyMs);
    void this.#heartbeat().catch(this.#onRedisError);
    this.#looping = this.#loop();
  }

  #every(ms: number, fn: () => Promise<unknown>): void {
    this.#timers.push(every(ms, fn, this.#onRedisError));
  }

  /** The read loop: claim lapsed entries when due, else block for new ones, and start them. */
  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      this.#lastTurn = performance.now();
      const free = this.#jobs.free(this.options.concurrency);
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.#slotFreed = resolve;
        });
        continue;
      }
      try {
        const got = await this.#fetch(free);
        failures = 0;
        if (got === 0 && this.options.burst && (await this.#drained())) break;
      } catch (err) {
        if (this.#stopping) break;
        await this.#recover(err, failures++);
      }
    }
    if (!this.#stopping) void this.stop();
  }

  async #fetch(free: number): Promise<number> {
    const { deliveries, kind } = await this.#source.next(free, new Set(this.#jobs.entryIds()));
    if (deliveries.length === 0 || this.#stopping) return deliveries.length;
    const o = this.options;
    const { run, settled } = await startBatch(
      this.#client,
      this.keys,
      this.name,
      o,
      deliveries,
      kind,
    );
    for (const s of settled) {
      this.#log.log("warn", SETTLED_WHY[s.verdict], { job: s.jobId || null, entry: s.entryId });
    }
    // Stopping meanwhile: launch nothing; the entries stay pending and stop() releases them.
    if (!this.#stopping) for (const job of run) this.#jobs.launch(job, kind);
    return deliveries.length;
  }

  async #recover(err: unknown, failures: number): Promise<void> {
    // A read whose reply was lost may have left entries pending on us: look there first.
    this.#source.readLost();
    const message = describeCause(err);
    if (message.startsWith("NOGROUP")) {
      // The stream (and its group) vanished: a FLUSHALL, or a restart without persistence.
      await ensureGroup(this.#client, this.keys).catch(() => {});
      return;
    }
    const waitMs = Math.min(100 * 2 ** failures, this.options.reconnectMaxMs);
    this.#log.log("warn", "read failed, retrying", { error: message, retryInMs: waitMs });
    await Bun.sleep(waitMs);
  }

  /** Nothing waiting, delayed or in flight anywhere in the queue (burst mode's exit test). */
  async #drained(): Promise<boolean> {
    if (this.#jobs.inFlight > 0 || this.#jobs.settler.size > 0) return false;
    const [len, delayed] = await Promise.all([
      this.#client.sendCommand<number>(["XLEN", this.keys.stream]),
      this.#client.sendCommand<number>(["ZCARD", this.keys.delayed]),
    ]);
    return Number(len) === 0 && Number(delayed) === 0;
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
    this.#slotFreed?.();
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
    await leave(this.#client, this.keys, this.name)
      .then((n) => n > 0 && this.#log.log("info", "released unfinished jobs", { count: n }))
      .catch((err) =>
        this.#log.log("warn", "could not release jobs", { error: describeCause(err) }),
      );
    // Outcomes still unwritten (Redis away past the grace period): their entries stay pending
    // and other workers claim them after claimIdleMs.
    const unwritten = this.#jobs.settler.close();
    if (unwritten > 0)
      this.#log.log("warn", "stopped with unwritten outcomes", { count: unwritten });
    await this.#links.commands.close();
    this.#log.log("info", "worker stopped", { worker: this.name, processed: this.processed });
    this.#resolveStopped();
  }

  #heartbeat(): Promise<void> {
    const { inFlight, processed, failed } = this.#jobs;
    const counts = { inFlight, processed, failed };
    return heartbeat(this.#client, this.keys, this.options, counts);
  }

  #stalled(connection: keyof Links): void {
    this.#log.log("warn", "redis connection stalled; reconnecting", { connection });
    this.#links[connection].replace();
  }

  #onRedisError = (err: unknown, retryInMs?: number): void => {
    this.#commandFailed({ error: describeCause(err), retryInMs });
  };
}
