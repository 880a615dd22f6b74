// The producer side of a queue, for services and the CLIs: enqueue jobs, read them back,
// wait for them to end.

import { defaults, type ProducerOptions, resolveOptions } from "../config.ts";
import { layoutKey, type QueueKeys } from "../engine/keys.ts";
import { InputError, JobNotFoundError } from "../errors.ts";
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
  type BatchOptions,
  type ChildSender,
  type EnqueuedBatchWithCallback,
  prepareWithParents,
  sendBatch,
  sendInOrder,
} from "./batch.ts";
import {
  type BatchOutcome,
  type EnqueuedBatch,
  type EnqueueStreamOptions,
  enqueueBatches,
  enqueuePreparedMany,
  enqueueStream,
  type Specs,
} from "./bulk.ts";
import { type CancelVerdict, cancelOnShards } from "./cancel.ts";
import { enqueueChild } from "./depends.ts";
import { EventStreams } from "./event-streams.ts";
import type { EventStream, EventsOptions } from "./events.ts";
import { ProducerLayout } from "./layout.ts";
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
import { Waiters } from "./waiters.ts";

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
  #layout: ProducerLayout;
  /**
   * The shard of the next auto-id job: round robin, job by job, from a random shard (many
   * short-lived producers, one job each, as `trigger --url` is, spread over the shards too).
   */
  #next = Math.floor(Math.random() * 1_000_000);
  /** Connections for blocking waits, one per wait (and shard) running at once. */
  #waiters: Waiters;
  /** Jobs just enqueued here, with the events cursor a wait for them may start from. */
  #recent = new RecentJobs();
  /** Open `events()` iterators, ended by close(). */
  #events = new EventStreams();

  #retryConnectS: number;
  #waitForMemoryS: number;

  private constructor(
    client: Redis,
    options: ProducerOptions,
    config: QueueConfig,
    layout: ProducerLayout,
  ) {
    this.#retryConnectS = config.retryConnectS ?? 0;
    this.#waitForMemoryS = config.waitForMemoryS ?? 0;
    this.client = client;
    this.options = options;
    this.#layout = layout;
    this.#waiters = new Waiters(() =>
      connect(options.redisUrl, {
        name: "courier-waiter",
        blocking: true,
        persistent: true,
        failFast: true,
        reconnectMaxMs: options.reconnectMaxMs,
      }),
    );
  }

  /** Shard 0's keys: on a queue of one shard (N = 1), the queue's keys. */
  get keys(): QueueKeys {
    return this.#layout.current.keys[0]!;
  }

  /** How many shards the queue has. */
  get shards(): number {
    return this.#layout.current.shards;
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
      // Reading alone writes nothing: a fresh queue's layout is recorded before its first batch.
      const names = { prefix: options.prefix, queue: options.queue, shards: options.shards };
      const layout = await ProducerLayout.open(client, names);
      return new Queue(client, options, config, layout);
    } catch (err) {
      destroy(client);
      throw err;
    }
  }

  /** Records a fresh queue's layout before its first enqueue (lib/queue/layout.ts). */
  #recordLayout(): Promise<void> {
    const key = layoutKey(this.options.prefix, this.options.queue);
    return this.#layout.record((fn) => this.#call(fn, "nothing enqueued", undefined, key));
  }

  /** Enqueues one job and returns its id. */
  async enqueue<P>(
    task: string | Task<P, unknown>,
    payload: P,
    opts: Omit<JobSpec, "task" | "payload"> = {},
  ): Promise<string> {
    const spec = { ...opts, task: task as JobSpec["task"], payload };
    const { job, parents, onFailure } = prepareWithParents(this.#children(), spec);
    await this.#recordLayout();
    if (parents !== null && parents.length > 0) {
      return (await this.#children().sendChild(job, parents, onFailure)).id;
    }
    const [done] = await this.#sender().send([job]);
    return done!.id;
  }

  /**
   * Enqueues a batch: its jobs (any (async) iterable, streamed in batches with bounded memory),
   * then `then`, a callback job that runs once when every one of them has ended, whatever their
   * outcomes, and reads them with `ctx.parents()` (docs/internals.md, "Dependencies and
   * batches"). Returns the jobs' ids and the callback's. A failure part-way throws; the jobs
   * sent before it stay enqueued, with no callback.
   */
  async enqueueBatch(
    specs: AsyncIterable<JobSpec> | Iterable<JobSpec>,
    options: BatchOptions,
  ): Promise<EnqueuedBatchWithCallback> {
    await this.#recordLayout();
    return sendBatch(this.#children(), this.enqueueStream(specs, options), options.then);
  }

  /** Children (jobs with `dependsOn`) and plain jobs, for lib/queue/batch.ts. */
  #children(): ChildSender {
    const { keys } = this.#layout.current;
    // The producer tells a child only of finished parents (lib/queue/depends.ts): nothing it
    // tells fails a child, so this failure TTL is never written.
    const tell = { failureTtlS: defaults.failureTtlS, eventsMaxLen: defaults.eventsMaxLen };
    return {
      prepare: (spec) => prepareJob(spec, this.options),
      sendMany: (jobs) => enqueuePreparedMany(jobs, this.#sender()),
      sendChild: (prepared, parents, onParentFailure) => {
        // The id is made once, before the first try: a try again after a lost reply goes on
        // with the same child (lib/queue/depends.ts), never makes a second.
        const job = { ...prepared, id: prepared.id ?? Bun.randomUUIDv7() };
        return this.#call(
          () => enqueueChild(this.client, keys, { job, parents, onParentFailure }, tell),
          // Either way: a step may have been done before the one that failed. The id is said:
          // a caller that let the library make it can find the job, or send it again.
          `job ${job.id} may or may not have been enqueued`,
          `job ${job.id} may or may not have been enqueued`,
          keys[0]?.stream,
        );
      },
    };
  }

  /**
   * Enqueues many jobs, in batches of `enqueueBatchSize` (one script call per shard it has
   * jobs for), a few batches in flight at once. Every job is checked before any is sent: one bad spec throws and nothing
   * is enqueued. A failure part-way (RedisFullError, ConnectError) leaves the batches sent
   * before it enqueued; use enqueueStream or enqueueBatches to learn exactly which. A spec with
   * `dependsOn` is sent alone, after the jobs listed before it (it may wait for them).
   */
  async enqueueMany(
    specs: readonly JobSpec[],
    options?: EnqueueStreamOptions,
  ): Promise<Enqueued[]> {
    if (specs.some((s) => s.dependsOn !== undefined)) {
      if (specs.length > 0) await this.#recordLayout();
      return sendInOrder(this.#children(), specs);
    }
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

  /**
   * Like enqueueStream, but every batch's outcome is yielded, a refused one too; never throws.
   * Specs may also come in arrays (a reader's chunk of lines), taken in one step each.
   */
  enqueueBatches<S extends JobSpec>(
    specs: Specs<S>,
    options?: EnqueueStreamOptions,
  ): AsyncGenerator<BatchOutcome<S>> {
    return enqueueBatches(specs, this.#sender(), options);
  }

  #sender() {
    return {
      batchSize: this.options.enqueueBatchSize,
      ready: () => this.#recordLayout(),
      prepare: (spec: JobSpec) => {
        if (spec.dependsOn !== undefined) {
          throw new InputError(
            "dependsOn: enqueue such a job with enqueue, enqueueMany or enqueueBatch",
          );
        }
        return prepareJob(spec, this.options);
      },
      // Safe to send again after a lost reply: the batch's id is fixed before the first send,
      // and a batch whose receipt exists returns the same ids, adding nothing.
      // With several shards a batch is sent as one call per shard (lib/queue/route.ts), each
      // retried on its own: a part re-sent after a lost reply finds its receipt.
      send: (batch: readonly Prepared[]) => {
        const window = Math.max(this.#retryConnectS, this.#waitForMemoryS);
        const { shards, keys } = this.#layout.current;
        const next = () => {
          const shard = this.#next % shards;
          this.#next = shard + 1;
          return shard;
        };
        const send = shardedSender(this.client, keys, batch, next, {
          receiptTtlMs: receiptTtlFor(window),
          onReply: (reply, shard) => this.#recent.remember(reply, shard),
          replicaWaitMs:
            this.options.durability === "replicated" ? this.options.replicaWaitMs : undefined,
          call: (shard, size, fn) =>
            this.#call(
              fn,
              size === 1 ? "job not enqueued" : `batch of ${size} jobs not enqueued`,
              `${size === 1 ? "the job" : `the batch of ${size} jobs`} may or may not have been enqueued`,
              keys[shard]?.stream,
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
    return this.#call(() => getJobsOnShards(this.client, this.#layout.current.keys, ids));
  }

  /**
   * Cancels jobs (docs/internals.md, "Cancel"): a queued, scheduled, retrying or parked job never
   * runs; a running one's signal aborts on its worker within a second (CanceledError) and its
   * outcome is ignored. Per id: canceled (and where it was), ended already (a second cancel is
   * a no-op), or unknown. An id given twice is answered once.
   */
  cancel(ids: readonly string[]): Promise<CancelVerdict[]> {
    const o = { failureTtlS: defaults.failureTtlS, eventsMaxLen: defaults.eventsMaxLen };
    const { keys } = this.#layout.current;
    return this.#call(() => cancelOnShards(this.client, keys, ids, o), "nothing canceled");
  }

  /**
   * Runs a call; while Redis is unreachable (or full, for writes) retries with back-off for up
   * to `retryConnectS` (`waitForMemoryS`), 0 by default: then throws a ConnectError (or a
   * RedisFullError) naming the URL and the cause; a LostReplyError saying `unsure` when a
   * write may have been done, its reply lost.
   */
  #call<T>(fn: () => Promise<T>, what = "nothing read", unsure?: string, key?: string): Promise<T> {
    // `key`: a key the call writes, whose node's memory a refusal reports (on a cluster).
    const policy: RetryPolicy = {
      key,
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
    const { keys } = this.#layout.current;
    return waitOnShards(this.client, keys, ids, options, from, (wait) => this.#waiters.with(wait));
  }

  /**
   * The queue's events (finished, failed, retried, canceled, progress, …; one per job) as an
   * async iterator, each with a cursor to resume from (`from`: "now", the default, "start", or
   * a cursor). A malformed cursor, or one of another queue, throws InputError at once. Each
   * iterator holds a blocking connection (one per shard on a cluster) until `break`, return()
   * or close(). README, "Reacting to jobs (events)".
   */
  events(options: EventsOptions = {}): EventStream {
    return this.#events.open(this.client, this.#layout.current.keys, this.options, options);
  }

  /**
   * Closes the connections and ends open `events()` iterators. Pending replies are awaited (a
   * few seconds at most).
   */
  async close(): Promise<void> {
    this.#events.closeAll();
    await Promise.all([closeClient(this.client), this.#waiters.close()]);
  }
}
