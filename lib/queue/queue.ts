// The producer side of a queue, for services and the CLIs: enqueue jobs, read them back,
// wait for them to end.

import { type ProducerOptions, resolveOptions } from "../config.ts";
import { checkFormat } from "../engine/format.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { type Layout, openLayout } from "../engine/layout.ts";
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
import {
  type Enqueued,
  type JobSpec,
  type Prepared,
  prepareJob,
  receiptTtlFor,
} from "./prepare.ts";
import type { WaitOptions, WaitResult } from "./read.ts";
import { RecentJobs } from "./recent.ts";
import { shardedSender } from "./route.ts";
import { getJobsOnShards, waitOnShards } from "./shards.ts";

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
  readonly client: Redis;
  /** The queue's shards and their keys, read at connect (fixed once the queue has them). */
  #layout: Layout;
  /** The layout, recorded before the first enqueue when the queue had none (#recordLayout). */
  #recorded: Promise<void> | null = null;
  /** The shard of the next auto-id job: round robin, job by job. */
  #next = 0;
  /** Connections for blocking waits: all of them, and those not in use right now. */
  #waiters = new Set<Redis>();
  #idleWaiters: Redis[] = [];
  /** Jobs just enqueued here, with the events cursor a wait for them may start from. */
  #recent = new RecentJobs();

  #retryConnectS: number;
  #waitForMemoryS: number;

  private constructor(
    client: Redis,
    options: ProducerOptions,
    config: QueueConfig,
    layout: Layout,
  ) {
    this.#retryConnectS = config.retryConnectS ?? 0;
    this.#waitForMemoryS = config.waitForMemoryS ?? 0;
    this.client = client;
    this.options = options;
    this.#layout = layout;
  }

  /** Shard 0's keys: on a queue of one shard (N = 1), the queue's keys. */
  get keys(): QueueKeys {
    return this.#layout.keys[0]!;
  }

  /** How many shards the queue has. */
  get shards(): number {
    return this.#layout.shards;
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
    try {
      // The layout is read, not written (a `shards` that differs from the queue's is refused
      // here, one line), and a queue of another data format is refused before anything is read
      // or written there; a fresh one gets both before its first batch (#recordLayout), and
      // reading alone writes nothing.
      const layout = await openLayout(client, options.prefix, options.queue, options.shards, false);
      const formats = await Promise.all(layout.keys.map((k) => checkFormat(client, k)));
      const queue = new Queue(client, options, config, layout);
      if (formats.every(Boolean)) queue.#recorded = Promise.resolve();
      return queue;
    } catch (err) {
      destroy(client);
      throw err;
    }
  }

  /**
   * Before the first enqueue to a queue that had no format at connect: a queue of several
   * shards has its count recorded (HSETNX: the first record wins, and a `shards` option it
   * contradicts is refused). A queue of one shard is recorded by its first batch itself, whose
   * format write in `{queue}:meta` (enqueue.lua, with the jobs) reads as one shard
   * (lib/engine/layout.ts); the layout is read again just before it, so a queue made meanwhile
   * with other shards is used (or refused), not written over. No extra write: a producer's
   * first batch on a nearly full Redis has the room it always had.
   */
  #recordLayout(): Promise<void> {
    this.#recorded ??= this.#call(async () => {
      const { prefix, queue, shards: wanted } = this.options;
      const several = this.#layout.shards > 1;
      const layout = await openLayout(this.client, prefix, queue, wanted, several);
      if (layout.shards !== this.#layout.shards) {
        // Another process made the queue meanwhile, with another count: use the queue's.
        await Promise.all(layout.keys.map((k) => checkFormat(this.client, k)));
        this.#layout = layout;
      }
    }, "nothing enqueued").catch((err: unknown) => {
      this.#recorded = null;
      throw err;
    });
    return this.#recorded;
  }

  /** Enqueues one job and returns its id. */
  async enqueue<P>(
    task: string | Task<P, unknown>,
    payload: P,
    opts: Omit<JobSpec, "task" | "payload"> = {},
  ): Promise<string> {
    const spec = { ...opts, task: task as JobSpec["task"], payload };
    const job = prepareJob(spec, this.options);
    await this.#recordLayout();
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
    if (prepared.length > 0) await this.#recordLayout();
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
      ready: () => this.#recordLayout(),
      prepare: (spec: JobSpec) => prepareJob(spec, this.options),
      // Safe to send again after a lost reply: the batch's id is fixed before the first send,
      // and a batch whose receipt exists returns the same ids, adding nothing.
      // With several shards a batch is sent as one call per shard (lib/queue/route.ts), each
      // retried on its own: a part re-sent after a lost reply finds its receipt.
      send: (batch: readonly Prepared[]) => {
        const window = Math.max(this.#retryConnectS, this.#waitForMemoryS);
        const { shards, keys } = this.#layout;
        const next = () => {
          const shard = this.#next;
          this.#next = (shard + 1) % shards;
          return shard;
        };
        const send = shardedSender(this.client, keys, batch, next, {
          receiptTtlMs: receiptTtlFor(window),
          onReply: (reply, shard) => this.#recent.remember(reply, shard),
          call: (_, size, fn) =>
            this.#call(
              fn,
              size === 1 ? "job not enqueued" : `batch of ${size} jobs not enqueued`,
              `${size === 1 ? "the job" : `the batch of ${size} jobs`} may or may not have been enqueued`,
            ),
        });
        return send();
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

  /** Jobs' records in the order of `ids` (null: unknown), each read on its shard. */
  getJobs(ids: readonly string[]): Promise<(JobRecord | null)[]> {
    return this.#call(() => getJobsOnShards(this.client, this.#layout.keys, ids));
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
    const from = this.#recent.cursorsFor(ids);
    const { keys } = this.#layout;
    return waitOnShards(this.client, keys, ids, options, from, (wait) => this.#withWaiter(wait));
  }

  /**
   * A blocking read holds its connection: each wait running at once (and each shard of a wait)
   * gets one of its own, kept afterwards for the next wait.
   */
  async #withWaiter<T>(wait: (blocking: Redis) => Promise<T>): Promise<T> {
    const blocking =
      this.#idleWaiters.pop() ??
      (await connect(this.options.redisUrl, {
        name: "courier-waiter",
        persistent: true,
        failFast: true,
        reconnectMaxMs: this.options.reconnectMaxMs,
      }));
    this.#waiters.add(blocking);
    try {
      return await wait(blocking);
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
