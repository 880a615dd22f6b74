// The producer side of a queue, for services and the CLIs: enqueue jobs, read them back,
// wait for them to end.

import { type ProducerOptions, resolveOptions } from "../config.ts";
import { checkFormat } from "../engine/format.ts";
import { type QueueKeys, queueKeys } from "../engine/keys.ts";
import { JobNotFoundError } from "../errors.ts";
import { type RetryPolicy, withRetries } from "../redis/calls.ts";
import {
  type ConnectOptions,
  closeClient,
  connect,
  destroy,
  type Redis,
} from "../redis/connect.ts";
import type { JobRecord, Task } from "../types.ts";
import {
  type BatchOutcome,
  type EnqueuedBatch,
  type EnqueueStreamOptions,
  enqueueBatches,
  enqueuePreparedMany,
  enqueueStream,
} from "./bulk.ts";
import { batchSender, type Enqueued, type JobSpec, type Prepared, prepareJob } from "./prepare.ts";
import { getJobs, type WaitOptions, type WaitResult, waitForJobs } from "./read.ts";
import { RecentJobs } from "./recent.ts";

export type QueueConfig = Partial<ProducerOptions> &
  Pick<ConnectOptions, "retryConnectS"> & {
    /**
     * Seconds to keep retrying a write that Redis refuses because it is at `maxmemory`, with
     * back-off, before throwing RedisFullError (default 0: throw at once).
     */
    waitForMemoryS?: number;
  };

export class Queue {
  readonly options: ProducerOptions;
  readonly keys: QueueKeys;
  readonly client: Redis;
  /** Connections for blocking waits: all of them, and those not in use right now. */
  #waiters = new Set<Redis>();
  #idleWaiters: Redis[] = [];
  /** Jobs just enqueued here, with the events cursor a wait for them may start from. */
  #recent = new RecentJobs();

  #retryConnectS: number;
  #waitForMemoryS: number;

  private constructor(client: Redis, options: ProducerOptions, config: QueueConfig) {
    this.#retryConnectS = config.retryConnectS ?? 0;
    this.#waitForMemoryS = config.waitForMemoryS ?? 0;
    this.client = client;
    this.options = options;
    this.keys = queueKeys(options.prefix, options.queue);
  }

  /** Connects to Redis (throws ConnectError with the URL, password masked, and the cause). */
  static async connect(config: QueueConfig = {}): Promise<Queue> {
    const options = resolveOptions(config);
    // A Queue lives as long as its service: it reconnects in the background, and while Redis
    // is down its calls fail at once with a clear error instead of hanging.
    const client = await connect(options.redisUrl, {
      retryConnectS: config.retryConnectS,
      name: "courier-producer",
      persistent: true,
      failFast: true,
      reconnectMaxMs: options.reconnectMaxMs,
    });
    const queue = new Queue(client, options, config);
    try {
      // A queue of another data format is refused before anything is read or written there;
      // a fresh one gets its format with its first batch, in the same script call
      // (enqueue.lua: a lost reply cannot part them), and reading alone writes nothing.
      await checkFormat(client, queue.keys);
    } catch (err) {
      destroy(client);
      throw err;
    }
    return queue;
  }

  /** Enqueues one job and returns its id. */
  async enqueue<P>(
    task: string | Task<P, unknown>,
    payload: P,
    opts: Omit<JobSpec, "task" | "payload"> = {},
  ): Promise<string> {
    const spec = { ...opts, task: task as JobSpec["task"], payload };
    const job = prepareJob(spec, this.options);
    const [done] = await this.#sender().send([job]);
    return done!.id;
  }

  /**
   * Enqueues many jobs, in batches of `enqueueBatchSize` per script call, a few batches in
   * flight at once. Every job is checked before any is sent: one bad spec throws and nothing
   * is enqueued. A failure part-way (RedisFullError, ConnectError) leaves the batches sent
   * before it enqueued; use enqueueStream or enqueueBatches to learn exactly which.
   */
  async enqueueMany(
    specs: readonly JobSpec[],
    options?: EnqueueStreamOptions,
  ): Promise<Enqueued[]> {
    const prepared = specs.map((spec) => prepareJob(spec, this.options));
    return enqueuePreparedMany(prepared, this.#sender(), options);
  }

  /**
   * Enqueues jobs from any (async) iterable with bounded memory, yielding each batch as Redis
   * acknowledges it, in input order. On a failure it yields the batches already in flight that
   * were acknowledged, then throws (RedisFullError, ConnectError, or InputError for a bad spec,
   * which refuses its batch): what was yielded is exactly what was enqueued.
   */
  enqueueStream<S extends JobSpec>(
    specs: AsyncIterable<S> | Iterable<S>,
    options?: EnqueueStreamOptions,
  ): AsyncGenerator<EnqueuedBatch<S>> {
    return enqueueStream(this.enqueueBatches(specs, options));
  }

  /** Like enqueueStream, but every batch's outcome is yielded, a refused one too; never throws. */
  enqueueBatches<S extends JobSpec>(
    specs: AsyncIterable<S> | Iterable<S>,
    options?: EnqueueStreamOptions,
  ): AsyncGenerator<BatchOutcome<S>> {
    return enqueueBatches(specs, this.#sender(), options);
  }

  #sender() {
    return {
      batchSize: this.options.enqueueBatchSize,
      prepare: (spec: JobSpec) => prepareJob(spec, this.options),
      // Safe to send again after a lost reply: the batch's id is fixed before the first send,
      // and a batch whose receipt exists returns the same ids, adding nothing.
      send: (batch: readonly Prepared[]) => {
        const window = Math.max(this.#retryConnectS, this.#waitForMemoryS);
        const send = batchSender(this.client, this.keys, batch, window, (reply) =>
          this.#recent.remember(reply),
        );
        return this.#call(
          send,
          batch.length === 1 ? "job not enqueued" : `batch of ${batch.length} jobs not enqueued`,
          `${batch.length === 1 ? "the job" : `the batch of ${batch.length} jobs`} may or may not have been enqueued`,
        );
      },
    };
  }

  /** The job's record, or null when the id is unknown (or its record expired). */
  async getJob(id: string): Promise<JobRecord | null> {
    const [record] = await this.getJobs([id]);
    return record ?? null;
  }

  /** The queue, as a message names it. */
  #where(): string {
    return `queue "${this.options.queue}" (prefix ${this.options.prefix})`;
  }

  /** Like getJob, but throws JobNotFoundError for an unknown id. */
  async mustGetJob(id: string): Promise<JobRecord> {
    const record = await this.getJob(id);
    if (!record) throw new JobNotFoundError(id, this.#where());
    return record;
  }

  getJobs(ids: readonly string[]): Promise<(JobRecord | null)[]> {
    return this.#call(() => getJobs(this.client, this.keys, ids));
  }

  /**
   * Runs a call; while Redis is unreachable (or full, for writes) retries with back-off for up
   * to `retryConnectS` (`waitForMemoryS`), 0 by default: then throws a ConnectError (or a
   * RedisFullError) naming the URL and the cause; a LostReplyError saying `unsure` when a
   * write may have been done, its reply lost.
   */
  #call<T>(fn: () => Promise<T>, what = "nothing read", unsure?: string): Promise<T> {
    const policy: RetryPolicy = {
      redisUrl: this.options.redisUrl,
      retryConnectS: this.#retryConnectS,
      waitForMemoryS: this.#waitForMemoryS,
      reconnectMaxMs: this.options.reconnectMaxMs,
      what,
      unsure,
    };
    return withRetries(this.client, policy, fn);
  }

  /** Blocks until every job has finished or failed, or the timeout passes. */
  async waitForJobs(ids: readonly string[], options: WaitOptions): Promise<WaitResult> {
    // Jobs this Queue has just enqueued cannot have ended before their enqueue: the wait
    // starts from the events cursor their enqueue read, with no first look.
    const from = this.#recent.cursorFor(ids);
    // A blocking read holds its connection: each wait running at once gets one of its own,
    // kept afterwards for the next wait.
    const blocking =
      this.#idleWaiters.pop() ??
      (await connect(this.options.redisUrl, {
        name: "courier-waiter",
        blocking: true,
        persistent: true,
        failFast: true,
        reconnectMaxMs: this.options.reconnectMaxMs,
      }));
    this.#waiters.add(blocking);
    try {
      return await waitForJobs(this.client, blocking, this.keys, ids, options, from);
    } finally {
      if (this.#waiters.has(blocking)) this.#idleWaiters.push(blocking);
    }
  }

  /** Closes the connections. Pending replies are awaited (a few seconds at most). */
  async close(): Promise<void> {
    const clients = [this.client, ...this.#waiters];
    this.#waiters.clear();
    this.#idleWaiters = [];
    await Promise.all(clients.map((c) => closeClient(c)));
  }
}
