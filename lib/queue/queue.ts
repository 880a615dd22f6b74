// The producer side of a queue, for services and the CLIs: enqueue jobs, read them back,
// wait for them to end. Its link to Redis (connect, retried calls, senders): lib/queue/producer.ts.

import { defaults, type ProducerOptions } from "../config.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { JobNotFoundError, RedisRefusedError } from "../errors.ts";
import { closeClient } from "../redis/close.ts";
import type { ConnectOptions, Redis } from "../redis/connect.ts";
import { connectService } from "../redis/service-client.ts";
import { valueWithin } from "../time.ts";
import type { JobRecord, Task } from "../types.ts";
import {
  type BatchOptions,
  type EnqueuedBatchWithCallback,
  prepareWithParents,
  sendBatch,
  sendInOrder,
} from "./batch.ts";
import {
  type BatchOutcome,
  checkStreamOptions,
  type EnqueuedBatch,
  type EnqueueStreamOptions,
  enqueueBatches,
  enqueuePreparedMany,
  enqueueStream,
  type Specs,
} from "./bulk.ts";
import {
  checkBatchCall,
  checkCallOptions,
  checkEventsOptions,
  checkIds,
  checkSource,
  checkSpecList,
  checkWaitOptions,
  ENQUEUE_OPTION_KEYS,
  STREAM_OPTION_KEYS,
} from "./call-args.ts";
import { type CancelVerdict, cancelOnShards } from "./cancel.ts";
import { EventStreams } from "./event-streams.ts";
import type { EventStream, EventsOptions } from "./events.ts";
import { type Enqueued, type JobSpec, prepareJob } from "./prepare.ts";
import { Producer } from "./producer.ts";
import { getJobsOnShards, unreadableJob, type WithBlocking, waitOnShards } from "./shards.ts";
import { untilAborted } from "./until-aborted.ts";
import type { WaitOptions, WaitResult } from "./wait.ts";
import { LAST_LOOK_MS, Waiters } from "./waiters.ts";

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
  /** Its link to Redis: the layout, the retried calls, the senders (lib/queue/producer.ts). */
  #producer: Producer;
  /** Connections for blocking waits, one per wait (and shard) running at once. */
  #waiters: Waiters;
  /** Open `events()` iterators, ended by close(). */
  #events = new EventStreams();

  private constructor(producer: Producer) {
    const { client, options } = producer;
    this.client = client;
    this.options = options;
    this.#producer = producer;
    this.#waiters = new Waiters((until) =>
      connectService(options, "courier-waiter", { blocking: true, until }),
    );
  }

  /** Shard 0's keys: on a queue of one shard (N = 1), the queue's keys. */
  get keys(): QueueKeys {
    return this.#producer.layout.current.keys[0]!;
  }

  /** How many shards the queue has. */
  get shards(): number {
    return this.#producer.layout.current.shards;
  }

  /** Connects to Redis (throws ConnectError with the URL, password masked, and the cause). */
  static async connect(config: QueueConfig = {}): Promise<Queue> {
    return new Queue(await Producer.open(config));
  }

  /** Enqueues one job and returns its id. */
  async enqueue<P>(
    task: string | Task<P, unknown>,
    payload: P,
    opts: Omit<JobSpec, "task" | "payload"> = {},
  ): Promise<string> {
    checkCallOptions(opts, "enqueue", ENQUEUE_OPTION_KEYS);
    const spec = { ...opts, task: task as JobSpec["task"], payload };
    const { job, parents, onFailure } = prepareWithParents(this.#producer.children(), spec);
    await this.#producer.recordLayout();
    if (parents !== null && parents.length > 0) {
      return (await this.#producer.children().sendChild(job, parents, onFailure)).id;
    }
    const [done] = await this.#producer.sender().send([job]);
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
    checkBatchCall(specs, options);
    await this.#producer.recordLayout();
    const { inFlight, lingerMs } = options;
    const stream = this.enqueueStream(specs, { inFlight, lingerMs });
    return sendBatch(this.#producer.children(), stream, options.then, options.enqueued);
  }

  /**
   * Enqueues many jobs, in batches of `enqueueBatchSize` jobs or `enqueueBatchBytes` (one script
   * call per shard it has jobs for), a few batches in flight at once. Every job is checked before any is sent: one bad spec throws and nothing
   * is enqueued. A failure part-way (RedisFullError, ConnectError) leaves the batches sent
   * before it enqueued; use enqueueStream or enqueueBatches to learn exactly which. A spec with
   * `dependsOn` is sent alone, after the jobs listed before it (it may wait for them).
   */
  async enqueueMany(
    specs: readonly JobSpec[],
    options?: EnqueueStreamOptions,
  ): Promise<Enqueued[]> {
    checkSpecList(specs);
    checkCallOptions(options, "enqueueMany", STREAM_OPTION_KEYS);
    checkStreamOptions(options);
    this.#producer.refuseIfClosed(); // an empty list too: every call of a closed Queue says so
    if (specs.some((s) => s.dependsOn !== undefined)) {
      if (specs.length > 0) await this.#producer.recordLayout();
      return sendInOrder(this.#producer.children(), specs);
    }
    const prepared = specs.map((spec) => prepareJob(spec, this.options));
    if (prepared.length > 0) await this.#producer.recordLayout();
    return enqueuePreparedMany(prepared, this.#producer.sender(), options);
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
    const producer = this.#producer;
    // Refused at its first step when closed, an empty source too (untilAborted looks before
    // each read). close() while it waits on its source (a stalled one would keep it for ever)
    // ends the source: the batches in flight are yielded as answered, then it throws as closed.
    return (async function* () {
      checkSource(specs, "enqueueStream");
      checkCallOptions(options, "enqueueStream", STREAM_OPTION_KEYS);
      const closed = () => producer.closedError();
      const source = untilAborted(specs, producer.closing.signal, closed);
      const lingers = Symbol.asyncIterator in specs;
      yield* enqueueStream(enqueueBatches(source, producer.sender(), options, lingers));
    })();
  }

  /**
   * Like enqueueStream, but every batch's outcome is yielded, a refused one too; throws only
   * its source's error (after the batches in flight). Specs may also come in arrays (a reader's
   * chunk of lines), taken in one step each.
   */
  enqueueBatches<S extends JobSpec>(
    specs: Specs<S>,
    options?: EnqueueStreamOptions,
  ): AsyncGenerator<BatchOutcome<S>> {
    const sender = this.#producer.sender();
    return (async function* () {
      checkSource(specs, "enqueueBatches");
      checkCallOptions(options, "enqueueBatches", STREAM_OPTION_KEYS);
      yield* enqueueBatches(specs, sender, options);
    })();
  }

  /** The job's record, or null when the id is unknown (or its record expired). */
  async getJob(id: string): Promise<JobRecord | null> {
    const [record] = await this.getJobs(checkIds([id], "getJob"));
    return record ?? null;
  }

  /** The queue, as a message names it. */
  #where(): string {
    return `queue "${this.options.queue}" (prefix ${this.options.prefix})`;
  }

  /**
   * Like getJob, but throws JobNotFoundError for an unknown id, and RedisRefusedError for one
   * whose failed value or record is a key of another type (getJob reads it as absent).
   */
  async mustGetJob(id: string): Promise<JobRecord> {
    const record = await this.getJob(id);
    if (record) return record;
    const p = this.#producer;
    const why = await p.call(() => unreadableJob(this.client, p.layout.current.keys, id));
    if (why !== null) throw new RedisRefusedError(why);
    throw new JobNotFoundError(id, this.#where());
  }

  /** Jobs' records in the order of `ids` (null: unknown), each read on its shard. */
  async getJobs(ids: readonly string[]): Promise<(JobRecord | null)[]> {
    checkIds(ids, "getJobs");
    const producer = this.#producer;
    return producer.call(() => getJobsOnShards(this.client, producer.layout.current.keys, ids));
  }

  /**
   * Cancels jobs (docs/internals.md, "Cancel"): a queued, scheduled, retrying or parked job never
   * runs; a running one's signal aborts on its worker within a second (CanceledError) and its
   * outcome is ignored. Per id: canceled (and where it was), ended already (a second cancel is
   * a no-op), or unknown. An id given twice is answered once.
   */
  async cancel(ids: readonly string[]): Promise<CancelVerdict[]> {
    checkIds(ids, "cancel");
    const o = { failureTtlS: defaults.failureTtlS, eventsMaxLen: defaults.eventsMaxLen };
    const { keys } = this.#producer.layout.current;
    return this.#producer.call(() => cancelOnShards(this.client, keys, ids, o), "nothing canceled");
  }

  /**
   * Blocks until every job has finished or failed, or the timeout passes (Infinity: none).
   * close() ends it: it then throws InputError, as any call after close() does.
   */
  async waitForJobs(ids: readonly string[], options: WaitOptions): Promise<WaitResult> {
    checkIds(ids, "waitForJobs");
    checkWaitOptions(options);
    const producer = this.#producer;
    producer.refuseIfClosed();
    // Jobs this Queue has just enqueued cannot have ended before their enqueue: the wait
    // starts from the events cursor their enqueue read, with no first look.
    const from = producer.recent.cursorsFor(ids);
    const { keys } = producer.layout.current;
    const closing = producer.closing.signal;
    const signal = options.signal ? AbortSignal.any([options.signal, closing]) : closing;
    const closed = () => producer.closedError();
    // Opening a wait's connection while Redis is away (or while a connect hangs) is retried
    // within the wait's time; out of time, the wait looks once on the queue's connection (its
    // jobs pending if that fails too, as when the wait's reads fail until then).
    const onError = options.onError;
    const withBlocking: WithBlocking = (wait, list, deadline, waitSignal, look) => {
      const until = waitSignal ?? signal;
      // Out of time before a connection opened: one look all the same, bounded too (a Redis
      // that hangs holds the queue's connection as well: the jobs are then pending, answered
      // LAST_LOOK_MS after the deadline, not at commandTimeoutMs); ended early: nothing.
      const allPending = () => ({ ended: new Map(), pending: [...list] });
      const gaveUp = async () =>
        until.aborted ? allPending() : ((await valueWithin(look(), LAST_LOOK_MS)) ?? allPending());
      return this.#waiters.with(wait, closed, { deadline, signal: until, onError, gaveUp });
    };
    const o = { ...options, signal };
    const result = await waitOnShards(this.client, keys, ids, o, from, withBlocking);
    producer.refuseIfClosed(); // ended by close(): no answer (pending would read as a timeout)
    return result;
  }

  /**
   * The queue's events (finished, failed, retried, canceled, progress, …; one per job) as an
   * async iterator, each with a cursor to resume from (`from`: "now", the default, "start", or
   * a cursor). A malformed cursor, or one of another queue, throws InputError at once. Each
   * iterator holds a blocking connection (one per shard on a cluster) until `break`, return()
   * or close(). README, "Reacting to jobs (events)".
   */
  events(options: EventsOptions = {}): EventStream {
    checkEventsOptions(options);
    this.#producer.refuseIfClosed();
    const { keys } = this.#producer.layout.current;
    return this.#events.open(this.client, keys, this.options, options);
  }

  /**
   * Closes the connections and ends open `events()` iterators. Pending replies are awaited (a
   * few seconds at most).
   */
  async close(): Promise<void> {
    // Calls refused from now, waits under way end; the tries under way get their replies.
    const pending = this.#producer.gate.close();
    this.#events.closeAll();
    await Promise.all([closeClient(this.client, undefined, pending), this.#waiters.close()]);
  }

  /** `await using queue = await Queue.connect(…)`: closed as the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
