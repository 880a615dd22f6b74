// The producer side of a queue, for services and the CLIs: enqueue jobs, read them back,
// wait for them to end.
import { type ProducerOptions, resolveOptions } from "./config.ts";
import {
  type ConnectOptions,
  connect,
  describeCause,
  isTransient,
  maskUrl,
  type Redis,
} from "./connect.ts";
import { ConnectError, JobNotFoundError } from "./errors.ts";
import { type QueueKeys, queueKeys } from "./keys.ts";
import { type Enqueued, enqueuePrepared, type JobSpec, prepareJob } from "./producer.ts";
import { getJobs, type WaitOptions, type WaitResult, waitForJobs } from "./results.ts";
import type { JobRecord, Task } from "./types.ts";

export type QueueConfig = Partial<ProducerOptions> & Pick<ConnectOptions, "retryConnectS">;

export class Queue {
  readonly options: ProducerOptions;
  readonly keys: QueueKeys;
  readonly client: Redis;
  /** Connections for blocking waits: all of them, and those not in use right now. */
  #waiters = new Set<Redis>();
  #idleWaiters: Redis[] = [];

  #retryConnectS: number;

  private constructor(client: Redis, options: ProducerOptions, retryConnectS = 0) {
    this.#retryConnectS = retryConnectS;
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
    return new Queue(client, options, config.retryConnectS);
  }

  /** Enqueues one job and returns its id. */
  async enqueue<P>(
    task: string | Task<P, unknown>,
    payload: P,
    opts: Omit<JobSpec, "task" | "payload"> = {},
  ): Promise<string> {
    const [first] = await this.enqueueMany([{ ...opts, task: task as JobSpec["task"], payload }]);
    return first!.id;
  }

  /**
   * Enqueues many jobs, in batches of `enqueueBatchSize` per script call, pipelined. Every job
   * is checked before any is sent: one bad spec throws and nothing is enqueued.
   */
  async enqueueMany(specs: readonly JobSpec[]): Promise<Enqueued[]> {
    const prepared = specs.map((spec) => prepareJob(spec, this.options));
    // Safe to send again after a lost reply: ids are fixed before sending, and a job whose
    // hash exists is not added twice.
    return this.#call(() => enqueuePrepared(this.client, this.keys, this.options, prepared));
  }

  /** The job's record, or null when the id is unknown (or its record expired). */
  async getJob(id: string): Promise<JobRecord | null> {
    const [record] = await this.getJobs([id]);
    return record ?? null;
  }

  /** Like getJob, but throws JobNotFoundError for an unknown id. */
  async mustGetJob(id: string): Promise<JobRecord> {
    const record = await this.getJob(id);
    if (!record) throw new JobNotFoundError(id);
    return record;
  }

  getJobs(ids: readonly string[]): Promise<(JobRecord | null)[]> {
    return this.#call(() => getJobs(this.client, this.keys, ids));
  }

  /**
   * Runs a call; when Redis is unreachable, retries with back-off for up to `retryConnectS`
   * (0 by default: fail at once), then throws a ConnectError naming the URL and the cause.
   */
  async #call<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#retryConnectS * 1_000;
    for (let failures = 0; ; failures++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err)) throw err;
        const waitMs = Math.min(100 * 2 ** failures, this.options.reconnectMaxMs);
        if (Date.now() + waitMs > deadline) {
          const url = maskUrl(this.options.redisUrl);
          throw new ConnectError(`Redis at ${url} is unreachable: ${describeCause(err)}`, {
            cause: err,
          });
        }
        await Bun.sleep(waitMs);
      }
    }
  }

  /** Blocks until every job has finished or failed, or the timeout passes. */
  async waitForJobs(ids: readonly string[], options: WaitOptions): Promise<WaitResult> {
    // A blocking read holds its connection: each wait running at once gets one of its own,
    // kept afterwards for the next wait.
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
      return await waitForJobs(this.client, blocking, this.keys, ids, options);
    } finally {
      if (this.#waiters.has(blocking)) this.#idleWaiters.push(blocking);
    }
  }

  /** Closes the connections. Pending replies are awaited. */
  async close(): Promise<void> {
    const clients = [this.client, ...this.#waiters];
    this.#waiters.clear();
    this.#idleWaiters = [];
    await Promise.all(clients.map((c) => c.close().catch(() => c.destroy())));
  }
}
