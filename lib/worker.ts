// The worker: read → start → run → settle, with leases renewed while jobs run, lapsed leases
// of dead workers claimed, due retries promoted, and a graceful stop. The chain is told in
// docs/internals.md.

import type { Startable } from "./_fetch.ts";
import { claimIdle, type Delivery, ensureGroup, readNew, startBatch } from "./_fetch.ts";
import { Leases } from "./_leases.ts";
import { heartbeat, leave, promoteDue } from "./_presence.ts";
import { type AttemptResult, GivenUp, runAttempt } from "./_run.ts";
import { type Outcome, Settler } from "./_settle.ts";
import { within } from "./_time.ts";
import { backoffMs } from "./backoff.ts";
import { resolveOptions, type WorkerOptions } from "./config.ts";
import { connect, defaultWorkerName, describeCause, type Redis } from "./connect.ts";
import { type QueueKeys, queueKeys } from "./keys.ts";
import { type Logger, silentLogger } from "./log.ts";
import type { Task } from "./types.ts";

export interface WorkerConfig extends Partial<WorkerOptions> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logger?: Logger;
}

interface Running extends Startable {
  controller: AbortController;
  startedMono: number;
}

export class Worker {
  readonly options: WorkerOptions;
  readonly keys: QueueKeys;
  readonly name: string;
  /** Resolves when the worker has stopped and closed its connections. */
  readonly stopped: Promise<void>;
  processed = 0;
  failed = 0;

  #tasks: Map<string, Task>;
  #log: Logger;
  #client: Redis;
  #reader: Redis;
  #running = new Map<string, Running>();
  #settler: Settler;
  #leases: Leases;
  #stopping = false;
  #slotFreed: (() => void) | null = null;
  #timers: ReturnType<typeof setInterval>[] = [];
  #leaseTimer: ReturnType<typeof setInterval> | undefined;
  #emptied: (() => void)[] = [];
  #claimCursor = "0-0";
  #nextClaimAt = 0;
  #resolveStopped!: () => void;

  private constructor(config: WorkerConfig, o: WorkerOptions, client: Redis, reader: Redis) {
    this.options = o;
    this.name = o.name;
    this.keys = queueKeys(o.prefix, o.queue);
    this.#tasks = new Map(config.tasks.map((t) => [t.name, t as Task]));
    this.#log = config.logger ?? silentLogger;
    this.#client = client;
    this.#reader = reader;
    this.#settler = new Settler(client, this.keys, o, this.#onSettled, this.#onRedisError);
    this.#leases = new Leases(client, this.keys, o, (entryId) => this.#giveUp(entryId));
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /** Connects, joins the consumer group and starts processing. */
  static async start(config: WorkerConfig): Promise<Worker> {
    const o = resolveOptions({ ...config, name: config.name || defaultWorkerName() });
    const onError = (message: string) =>
      config.logger?.log("warn", "redis connection error", { error: message });
    const common = { persistent: true, reconnectMaxMs: o.reconnectMaxMs, onError };
    const client = await connect(o.redisUrl, { ...common, name: `courier-worker-${o.name}` });
    const reader = await connect(o.redisUrl, { ...common, name: `courier-reader-${o.name}` });
    const worker = new Worker(config, o, client, reader);
    await ensureGroup(client, worker.keys);
    worker.#begin();
    return worker;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  #begin(): void {
    const o = this.options;
    this.#log.log("info", "worker started", {
      worker: this.name,
      queue: o.queue,
      concurrency: o.concurrency,
      tasks: [...this.#tasks.keys()].join(","),
    });
    this.#every(o.promoteEveryMs, () => promoteDue(this.#client, this.keys, o));
    this.#every(o.heartbeatEveryMs, () => this.#heartbeat());
    this.#leaseTimer = setInterval(() => void this.#renewLeases(), this.#leases.everyMs);
    void this.#heartbeat();
    void this.#loop();
  }

  #every(ms: number, fn: () => Promise<unknown>): void {
    this.#timers.push(setInterval(() => void fn().catch(this.#onRedisError), ms));
  }

  /** The read loop: claim lapsed entries when due, else block for new ones, and start them. */
  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      const free = this.options.concurrency - this.#running.size;
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
    const o = this.options;
    let deliveries: Delivery[] = [];
    let kind: "read" | "claim" = "read";
    if (o.now() >= this.#nextClaimAt) {
      const c = await claimIdle(this.#client, this.keys, this.name, o, this.#claimCursor, free);
      this.#claimCursor = c.cursor;
      if (c.cursor === "0-0") this.#nextClaimAt = o.now() + o.reclaimEveryMs;
      for (const id of c.deleted) this.#log.log("warn", "claimed entry was deleted", { entry: id });
      deliveries = c.claimed;
      kind = "claim";
    }
    if (deliveries.length === 0) {
      const block = o.burst ? Math.min(o.blockMs, 250) : o.blockMs;
      deliveries = await readNew(this.#reader, this.keys, this.name, free, block);
      kind = "read";
    }
    if (deliveries.length === 0 || this.#stopping) return deliveries.length;
    const { run, settled } = await startBatch(
      this.#client,
      this.keys,
      this.name,
      o,
      deliveries,
      kind,
    );
    for (const s of settled)
      this.#log.log("warn", SETTLED_WHY[s.verdict], { job: s.jobId || null, entry: s.entryId });
    for (const job of run) this.#launch(job, kind);
    return deliveries.length;
  }

  async #recover(err: unknown, failures: number): Promise<void> {
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
    if (this.#running.size > 0 || this.#settler.size > 0) return false;
    const [len, delayed] = await Promise.all([
      this.#client.sendCommand<number>(["XLEN", this.keys.stream]),
      this.#client.sendCommand<number>(["ZCARD", this.keys.delayed]),
    ]);
    return Number(len) === 0 && Number(delayed) === 0;
  }

  #launch(job: Startable, kind: "read" | "claim"): void {
    const running: Running = {
      ...job,
      controller: new AbortController(),
      startedMono: performance.now(),
    };
    this.#running.set(job.entryId, running);
    if (kind === "claim")
      this.#log.log("info", "claimed", { job: job.jobId, attempt: job.attempt });
    const info = {
      id: job.jobId,
      task: job.task,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
    };
    const task = this.#tasks.get(job.task);
    void runAttempt(task, info, job.payload, this.options.jobTimeoutMs, running.controller).then(
      (r) => this.#settle(running, r),
    );
  }

  #settle(job: Running, r: AttemptResult): void {
    if ("givenUp" in r) {
      this.#release(job.entryId);
      return;
    }
    if (r.ok) {
      this.#settler.add({
        kind: "finish",
        entryId: job.entryId,
        jobId: job.jobId,
        result: r.result,
      });
      return;
    }
    const last = r.permanent || job.attempt >= job.maxAttempts;
    const delay = r.retryAfterMs ?? backoffMs(job.attempt, this.options);
    const retryAt = last ? 0 : this.options.now() + delay;
    this.#settler.add({
      kind: "fail",
      entryId: job.entryId,
      jobId: job.jobId,
      error: r.error,
      retryAt,
    });
  }

  #onSettled = (outcome: Outcome, reply: number): void => {
    const job = this.#running.get(outcome.entryId);
    const ms = job ? Math.round(performance.now() - job.startedMono) : undefined;
    const attempt = job ? `${job.attempt}/${job.maxAttempts}` : undefined;
    const fields = { job: outcome.jobId, task: job?.task, ms, attempt };
    if (outcome.kind === "finish") {
      this.processed++;
      const event =
        reply === 1
          ? "finished"
          : reply === 0
            ? "finished (duplicate run, first result kept)"
            : "finished (job record gone)";
      this.#log.log("info", event, fields);
    } else {
      this.failed++;
      const event =
        reply === 1 ? "failed, will retry" : reply === 2 ? "failed" : "failed (job already ended)";
      this.#log.log(reply === 2 ? "error" : "warn", event, { ...fields, error: outcome.error });
    }
    this.#release(outcome.entryId);
  };

  #release(entryId: string): void {
    this.#running.delete(entryId);
    const wake = this.#slotFreed;
    this.#slotFreed = null;
    wake?.();
    if (this.#running.size === 0) for (const resolve of this.#emptied.splice(0)) resolve();
  }

  #renewLeases(): Promise<void> {
    return this.#leases.renew(this.name, [...this.#running.keys()]).catch(this.#onRedisError);
  }

  /**
   * Graceful stop: no new reads or claims; in-flight jobs get `graceMs` to finish; what is
   * still running then is given up and released at once to other workers; the worker then
   * leaves the group and closes its connections. Safe to call more than once.
   */
  async stop(graceMs = this.options.shutdownGraceMs): Promise<void> {
    if (this.#stopping) return this.stopped;
    this.#stopping = true;
    for (const t of this.#timers.splice(0)) clearInterval(t);
    // Interrupts the blocking read; anything it was delivered is released below.
    this.#reader.destroy();
    this.#slotFreed?.();
    if (this.#running.size > 0) {
      this.#log.log("info", "stopping: waiting for jobs in flight", {
        inFlight: this.#running.size,
        graceMs,
      });
      const empty = new Promise<void>((resolve) => this.#emptied.push(resolve));
      await within(empty, graceMs);
    }
    for (const job of this.#running.values()) job.controller.abort(new GivenUp("shutdown"));
    await within(this.#settler.drained(), graceMs + this.options.reconnectMaxMs);
    clearInterval(this.#leaseTimer);
    await leave(this.#client, this.keys, this.name)
      .then((n) => n > 0 && this.#log.log("info", "released unfinished jobs", { count: n }))
      .catch((err) =>
        this.#log.log("warn", "could not release jobs", { error: describeCause(err) }),
      );
    await this.#client.close().catch(() => this.#client.destroy());
    this.#log.log("info", "worker stopped", { worker: this.name, processed: this.processed });
    this.#resolveStopped();
  }

  #heartbeat(): Promise<void> {
    const counts = { inFlight: this.#running.size, processed: this.processed, failed: this.failed };
    return heartbeat(this.#client, this.keys, this.options, counts);
  }

  #giveUp(entryId: string): void {
    const job = this.#running.get(entryId);
    if (!job) return;
    this.#log.log("warn", "lease lost, job given up (another worker has it)", { job: job.jobId });
    job.controller.abort(new GivenUp("lease lost"));
  }

  #onRedisError = (err: unknown, retryInMs?: number): void => {
    this.#log.log("warn", "redis command failed", { error: describeCause(err), retryInMs });
  };
}

const SETTLED_WHY = {
  bad: "entry has no job id; acknowledged and deleted",
  missing: "job record is gone (expired or deleted); entry acknowledged",
  done: "job already ended; duplicate delivery acknowledged",
  dead: "attempts used up by workers that stopped; dead-lettered",
} as const;
