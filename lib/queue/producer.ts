// A Queue's link to Redis (lib/queue/queue.ts): the connect step (options resolved, the client
// connected, the queue's layout read), the call every read and write of the Queue goes through
// (retried while Redis is away or full), and the senders its enqueues go through.

import { type DefaultKey, defaults, PLAIN_RECHECK_MS, type ProducerOptions } from "../config.ts";
import { layoutKey } from "../engine/keys.ts";
import type { Layout } from "../engine/layout.ts";
import { InputError } from "../errors.ts";
import { keysOf } from "../option-keys.ts";
import { checkWindowS, resolveOptions } from "../options.ts";
import { type RetryPolicy, withRetries } from "../redis/calls.ts";
import { destroy } from "../redis/close.ts";
import { isCluster } from "../redis/cluster.ts";
import type { Redis } from "../redis/connect.ts";
import { CallGate } from "../redis/gate.ts";
import { connectService } from "../redis/service-client.ts";
import type { ChildSender } from "./batch.ts";
import { enqueuePreparedMany } from "./bulk.ts";
import { checkSpec } from "./call-args.ts";
import { checkParentsKnown, enqueueChild } from "./depends.ts";
import { ProducerLayout } from "./layout.ts";
import { type JobSpec, type Prepared, prepareJob, receiptTtlFor } from "./prepare.ts";
import type { QueueConfig } from "./queue.ts";
import { RecentJobs } from "./recent.ts";
import { shardedSender } from "./route.ts";

/** A Queue's options beside resolveOptions' own (QueueConfig). */
export const QUEUE_KEYS = keysOf<Omit<QueueConfig, DefaultKey>>()([
  "retryConnectS",
  "waitForMemoryS",
]);

export class Producer {
  readonly options: ProducerOptions;
  readonly client: Redis;
  /** The queue's shards and their keys, read at connect (fixed once the queue has them). */
  readonly layout: ProducerLayout;
  /**
   * The shard of the next auto-id job: round robin, job by job, from a random shard (many
   * short-lived producers, one job each, as `trigger --url` is, spread over the shards too).
   */
  #next = Math.floor(Math.random() * 1_000_000);
  /** Jobs just enqueued here, with the events cursor a wait for them may start from. */
  readonly recent = new RecentJobs();

  /** Closed by Queue.close(): every call after it is refused, and the waits under way end. */
  readonly gate = new CallGate("Queue", "Queue.connect");
  readonly closing = this.gate.closing;

  #retryConnectS: number;
  #waitForMemoryS: number;
  /**
   * The shards a plain job may be sent to by enqueue-one.lua (lib/engine/enqueue-plain.ts), each
   * with the time (ms, this host's monotonic clock) enqueue.lua last created a job there, having
   * checked its keys' types and, on a queue of one shard, its shard count: a Queue's first job on
   * a shard goes by enqueue.lua, and past PLAIN_RECHECK_MS the next does again. None when a retry window may send a call
   * twice (only enqueue.lua's receipt makes that safe), nor on a cluster (kept as it was).
   */
  readonly #plain = new Map<number, number>();
  /** Whether plain jobs may go by enqueue-one.lua at all: no retry window, one server. */
  readonly #plainOk: boolean;

  private constructor(
    client: Redis,
    options: ProducerOptions,
    config: QueueConfig,
    layout: ProducerLayout,
  ) {
    this.#retryConnectS = config.retryConnectS ?? 0;
    this.#waitForMemoryS = config.waitForMemoryS ?? 0;
    this.#plainOk = Math.max(this.#retryConnectS, this.#waitForMemoryS) === 0 && !isCluster(client);
    this.client = client;
    this.options = options;
    this.layout = layout;
  }

  /** Connects to Redis (throws ConnectError with the URL, password masked, and the cause). */
  static async open(config: QueueConfig): Promise<Producer> {
    const options = resolveOptions(config, QUEUE_KEYS);
    for (const key of QUEUE_KEYS) checkWindowS(config, key);
    const client = await connectService(options, "courier-producer", {
      retryConnectS: config.retryConnectS,
    });
    try {
      // Reading alone writes nothing: a fresh queue's layout is recorded before its first batch.
      const names = { prefix: options.prefix, queue: options.queue, shards: options.shards };
      const layout = await ProducerLayout.open(client, names);
      return new Producer(client, options, config, layout);
    } catch (err) {
      destroy(client);
      throw err;
    }
  }

  /** Records a fresh queue's layout before its first enqueue (lib/queue/layout.ts). */
  recordLayout(): Promise<void> {
    const key = layoutKey(this.options.prefix, this.options.queue);
    return this.layout.record((fn) => this.call(fn, "nothing enqueued", undefined, key));
  }

  /** Children (jobs with `dependsOn`) and plain jobs, for lib/queue/batch.ts. */
  children(): ChildSender {
    // The producer tells a child only of finished parents (lib/queue/depends.ts): nothing it
    // tells fails a child, so this failure TTL is never written.
    const tell = { failureTtlS: defaults.failureTtlS, eventsMaxLen: defaults.eventsMaxLen };
    return {
      prepare: (spec) => prepareJob(spec, this.options),
      sendMany: (jobs) => enqueuePreparedMany(jobs, this.sender()),
      checkParents: async (parents) => {
        if (parents.length === 0) return;
        await this.layout.findAgain(({ keys }) =>
          this.call(() => checkParentsKnown(this.client, keys, parents)),
        );
      },
      sendChild: (prepared, parents, onParentFailure, acknowledged) => {
        // The id is made once, before the first try: a try again after a lost reply goes on
        // with the same child (lib/queue/depends.ts), never makes a second.
        const job = { ...prepared, id: prepared.id ?? Bun.randomUUIDv7() };
        const child = { job, parents, onParentFailure, acknowledged };
        // By the layout as read, or as read again when its shard refused it (a queue emptied
        // and made again with other shards: lib/queue/layout.ts), as any batch is.
        const send = async () => {
          const [done] = await this.layout.sending([job], async (_, { keys, shards }) => [
            await enqueueChild(this.client, keys, child, tell, this.layout.hooks(shards)),
          ]);
          return done!;
        };
        return this.call(
          send,
          // Either way: a step may have been done before the one that failed. The id is said:
          // a caller that let the library make it can find the job, or send it again.
          `job ${job.id} may or may not have been enqueued`,
          `job ${job.id} may or may not have been enqueued`,
          this.layout.current.keys[0]?.stream,
        );
      },
    };
  }

  /** What enqueues send through (lib/queue/bulk.ts; Queue.enqueue too): jobs without `dependsOn`. */
  sender() {
    return {
      batchSize: this.options.enqueueBatchSize,
      batchBytes: this.options.enqueueBatchBytes,
      ready: () => this.recordLayout(),
      prepare: (spec: JobSpec) => {
        checkSpec(spec);
        if (spec.dependsOn !== undefined) {
          throw new InputError(
            "dependsOn: enqueue such a job with enqueue, enqueueMany or enqueueBatch",
          );
        }
        return prepareJob(spec, this.options);
      },
      send: (batch: readonly Prepared[]) => this.#send(batch),
    };
  }

  /**
   * Sends one batch, each job to its shard. Safe to send again after a lost reply: the batch's
   * id is fixed before the first send, and a batch whose receipt exists returns the same ids,
   * adding nothing. With several shards a batch is sent as one call per shard
   * (lib/queue/route.ts), each retried on its own: a part re-sent after a lost reply finds its
   * receipt.
   */
  #send(batch: readonly Prepared[]) {
    return this.layout.sending(batch, (jobs, layout) => this.#sendBy(jobs, layout));
  }

  #sendBy(batch: readonly Prepared[], { shards, keys }: Layout) {
    const window = Math.max(this.#retryConnectS, this.#waitForMemoryS);
    const next = () => {
      const shard = this.#next % shards;
      this.#next = shard + 1;
      return shard;
    };
    const send = shardedSender(this.client, keys, batch, next, {
      receiptTtlMs: receiptTtlFor(window),
      onReply: (reply, shard) => this.recent.remember(reply, shard),
      layout: this.layout.hooks(shards),
      ...(this.#plainOk ? this.#plainHooks() : {}),
      replicaWaitMs:
        this.options.durability === "replicated" ? this.options.replicaWaitMs : undefined,
      call: (shard, size, fn) =>
        this.call(
          fn,
          size === 1 ? "job not enqueued" : `batch of ${size} jobs not enqueued`,
          `${size === 1 ? "the job" : `the batch of ${size} jobs`} may or may not have been enqueued`,
          keys[shard]?.stream,
          // One script per part (a plain job: one write, then the script if nothing was added).
          true,
        ),
    });
    return send();
  }

  /** shardedSender's hooks for plain jobs (#plain). */
  #plainHooks() {
    return {
      plain: (shard: number) =>
        performance.now() - (this.#plain.get(shard) ?? -Infinity) < PLAIN_RECHECK_MS,
      plainOn: (shard: number) => void this.#plain.set(shard, performance.now()),
      plainOff: (shard: number) => void this.#plain.delete(shard),
    };
  }

  /**
   * Runs a call; while Redis is unreachable (or full, for writes) retries with back-off for up
   * to `retryConnectS` (`waitForMemoryS`), 0 by default: then throws a ConnectError (or a
   * RedisFullError) naming the URL and the cause; a LostReplyError saying `unsure` when a
   * write may have been done, its reply lost.
   */
  call<T>(
    fn: () => Promise<T>,
    what = "nothing read",
    unsure?: string,
    key?: string,
    oneCall = false,
  ): Promise<T> {
    // `key`: a key the call writes, whose node's memory a refusal reports (on a cluster);
    // `oneCall`: fn is one command or script (RetryPolicy.oneCall).
    const policy: RetryPolicy = {
      key,
      oneCall,
      redisUrl: this.options.redisUrl,
      retryConnectS: this.#retryConnectS,
      waitForMemoryS: this.#waitForMemoryS,
      reconnectMaxMs: this.options.reconnectMaxMs,
      what,
      unsure,
    };
    // Checked before each try: a call under way when the Queue closes is not tried again (its
    // client is gone: "unreachable" would be false); a try under way gets its reply (gate.ts).
    return withRetries(this.client, policy, () => this.gate.try(fn));
  }

  /** Throws when the Queue was closed: its connections are gone, a call cannot be made. */
  refuseIfClosed(): void {
    this.gate.refuseIfClosed();
  }

  closedError(): InputError {
    return this.gate.closedError();
  }
}
