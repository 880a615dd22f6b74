// The worker: reads every shard of its queue, one shard's worker each (lib/worker/shard.ts:
// read → run → write the outcome, leases, claims, promotions, a graceful stop), under one
// concurrency limit (lib/worker/slots.ts). A queue of one shard has one. The chain is told in
// docs/internals.md. Its parts: lib/worker/worker-parts.ts; connections: lib/worker/links.ts;
// stopping: lib/worker/worker-stop.ts, each shard's lib/worker/stop.ts. A worker
// of several queues (`queue: "high,default,low"`) reads every shard of each, in the queues'
// order (lib/worker/order.ts, lib/worker/queues.ts).

import { defaults, type WorkerOptions } from "../config.ts";
import { guardedLogger, type Logger, silentLogger, throttled } from "../log.ts";
import { resolveOptions } from "../options.ts";
import { describeCause } from "../redis/cause.ts";
import { defaultWorkerName, lostWhileStarting, type Redis } from "../redis/connect.ts";
import { Outage } from "../redis/outage.ts";
import { serverWarnings } from "../redis/server.ts";
import { maskUrl } from "../redis/url.ts";
import type { Task } from "../types.ts";
import { hostPort, serveHealth } from "./health.ts";
import { destroyLinks, homeLinks, type Links, openLinks } from "./links.ts";
import { type OrderOptions, orderOptions, type QueueOrder, queueList } from "./order.ts";
import { forgetName } from "./presence.ts";
import { openQueues, rankOrder, type ServedShard } from "./queues.ts";
import type { ShardWorker } from "./shard.ts";
import type { Slots } from "./slots.ts";
import { checkWorkerConfig, WORKER_KEYS } from "./worker-config.ts";
import { WorkerStop } from "./worker-stop.ts";

export interface WorkerConfig extends Partial<WorkerOptions> {
  // biome-ignore lint/suspicious/noExplicitAny: tasks of any payload type live side by side
  tasks: readonly Task<any, any>[];
  logger?: Logger;
  /**
   * The queues served, in order (lib/worker/order.ts); default: `queue`, which may itself be
   * a comma-separated list ("high,default,low").
   */
  queues?: readonly string[];
  /** How several queues share the slots: "strict" (default) or "weighted". */
  order?: QueueOrder;
  /** One weight per queue, for the weighted order (default: all 1). */
  weights?: readonly number[];
  /**
   * Told once per served queue that gets its first high or low priority job after the start
   * (the worker reads those levels only from its next start): e.g. stop and start it again, as
   * the CLI worker does. Without it, a warning is logged.
   */
  onLevels?: (queue: string) => void;
  /**
   * Fire the recurring schedules of the queues served (lib/schedule/loop.ts; default true).
   * Any number of workers and schedulers fire them, each tick once; false (`worker
   * --no-schedules`) leaves them to others.
   */
  schedules?: boolean;
}

export class Worker extends WorkerStop {
  private constructor(
    config: WorkerConfig,
    o: WorkerOptions,
    served: ServedShard[],
    links: Links[],
    order: OrderOptions | null,
  ) {
    super(config, o, served, links, order);
  }

  /** Connects, opens the queue's layout, joins every shard's consumer group and starts processing. */
  static async start(config: WorkerConfig): Promise<Worker> {
    checkWorkerConfig(config);
    const list = queueList(
      config.queue === undefined ? defaults.queue : config.queue,
      config.queues,
    );
    // "" as undefined: no name given, one is made (a null is refused, as for every option).
    const given = config.name;
    const name = given === undefined || given === "" ? defaultWorkerName() : given;
    const o = resolveOptions({ ...config, queue: list[0], name }, WORKER_KEYS);
    const order = orderOptions(list.length, config.order, config.weights, o.random);
    // Every line the worker logs goes through the guard: a logger that throws loses its line only.
    const outage = new Outage(guardedLogger(config.logger ?? silentLogger), maskUrl(o.redisUrl));
    config = { ...config, logger: outage.logger };
    const first = await openLinks(o, outage);
    const links = [first];
    let worker: Worker | null = null;
    try {
      const client = first.commands.client;
      // A queue of another format, or with v1 jobs, is refused before its layout is written.
      const served = await openQueues(client, o, list);
      await openShardLinks(o, outage, served, links);
      worker = new Worker(config, o, served, links, rankOrder(order, served));
      await Worker.#ready(worker, served, outage, client, config);
      return worker;
    } catch (err) {
      // A name this start claimed is freed (the same process may start it again); one refused
      // as already running here stays the other worker's.
      const made = worker ? worker.shardWorkers : [];
      for (const shard of made) if (shard.claimed) forgetName(shard.keys, o.name);
      for (const l of links) destroyLinks(l); // a failed start leaves nothing open behind it
      throw lostWhileStarting(err, o.redisUrl, "while the worker started");
    }
  }

  /**
   * Readies every shard of a worker just made, its pause watches and health server, then starts
   * it; a failure rejects, and start() cleans up what it finds (every shard's claim).
   */
  static async #ready(
    worker: Worker,
    served: ServedShard[],
    outage: Outage,
    client: Redis,
    config: WorkerConfig,
  ): Promise<void> {
    const o = worker.options;
    const shards = worker.shardWorkers;
    // A connection back (Redis restarted, or one replaced): Redis may hold entries pending on
    // this worker that it does not know of (their acknowledgements lost with the AOF's last
    // writes), and no read of its failed to say so when its slots were all busy: read them
    // again. A worker never claims its own entries: nothing else would run them while it lives.
    // Only the shard whose connection it is (on a cluster, each hears of its own node only).
    outage.onReady = (name) => shards[shardOfLink(name)]?.readLost();
    // Every shard readied before any fails the start, so start()'s cleanup sees every claim. The
    // levels' views after the normal ones: a view hands over the entries pending on the name,
    // which only its shard's normal view claims, and a name refused (a live worker has it) must
    // leave that worker's high and low jobs pending on it, not give them to `<name>~gone`.
    for (const levels of [false, true]) {
      const open = (s: ShardWorker, k: number) =>
        (s.keys.level !== undefined) === levels ? s.open(served[k]!.shards > 1) : undefined;
      const opened = await Promise.allSettled(shards.map(open));
      for (const r of opened) if (r.status === "rejected") throw r.reason;
    }
    // Before any log line: a port in use is a usage error, said alone (exit 2).
    // Started during a pause: no job is taken before it ends.
    await Promise.all([...worker.pauses.values()].map((p) => p.read()));
    if (o.healthPort > 0) worker.health = serveHealth(worker, o.healthPort, o.healthHost);
    for (const w of await serverWarnings(client)) config.logger?.log("warn", w);
    worker.#begin();
  }

  /** Port of the health server (0 when there is none). */
  get healthPort(): number {
    return this.health?.port ?? 0;
  }

  /** Connected to Redis and reading, every shard (for /healthz). */
  ready(): boolean {
    return !this.stopping && this.shardWorkers.every((s) => s.ready());
  }

  /** Why the worker cannot make (full) progress, for /healthz; null when nothing is wrong. */
  problem(): string | null {
    if (this.stopping) return "stopping";
    for (const shard of this.shardWorkers) {
      const problem = shard.problem();
      if (problem !== null) return problem;
    }
    return null;
  }

  /**
   * Every shard's read loop turned recently (a paused queue's loops wait for the resume without
   * turning: that is no hang), or slots are all busy, or stopping (for /livez).
   */
  live(): boolean {
    const o = this.options;
    const limitMs = 3 * (o.blockMs + o.commandTimeoutMs);
    const turning = this.shardWorkers.every((s, k) => this.pausedOf[k]!() || s.quietMs < limitMs);
    return this.stopping || this.slots.running >= o.concurrency || turning;
  }

  #begin(): void {
    const o = this.options;
    this.log.log("info", "worker started", {
      worker: this.name,
      queue: this.queues.join(","),
      order: this.queues.length > 1 ? orderText(this.slots) : undefined,
      shards: this.shards > 1 ? this.shards : undefined,
      concurrency: o.concurrency,
      tasks: [...this.tasks.keys()].join(","),
      // host:port, as bound: `:port` alone would hide a health server reachable on loopback only
      health: this.health ? hostPort(o.healthHost, this.health.port) : undefined,
    });
    // Redis away: said once in a while, not every pauseCheckMs; the last answer holds.
    const failed = throttled(this.log, "could not read whether the queue is paused");
    const onError = (err: unknown) => failed({ error: describeCause(err) });
    for (const pause of this.pauses.values()) pause.start(o.pauseCheckMs, onError);
    const levelsFailed = throttled(this.log, "could not read whether a queue has levels");
    this.levels.start(o.heartbeatEveryMs, (err) => levelsFailed({ error: describeCause(err) }));
    this.schedules?.start();
    void Promise.all(this.shardWorkers.map((s) => s.run())).then(() => {
      if (!this.stopping) void this.stop(); // burst mode: every shard is drained
    });
  }
}

/**
 * Opens the connections of every shard served past the first (whose links are `links[0]`) into
 * `links`, and homes each on its shard's node.
 */
async function openShardLinks(
  o: WorkerOptions,
  outage: Outage,
  served: ServedShard[],
  links: Links[],
): Promise<void> {
  // The shards' connections open at once (one after another, a worker of many shards waited
  // for each handshake in turn); those that opened are closed by start() if one did not.
  const rest = Array.from({ length: served.length - 1 }, (_, i) =>
    openLinks(o, outage, `-s${i + 1}`, served[i + 1]!.keys.meta),
  );
  const linked = await Promise.allSettled(rest);
  for (const r of linked) if (r.status === "fulfilled") links.push(r.value);
  for (const r of linked) if (r.status === "rejected") throw r.reason;
  for (const [k, l] of links.entries()) homeLinks(l, served[k]!.keys.meta);
}

/** The shard a connection's name belongs to (lib/worker/links.ts: `courier-worker-s3`; none: 0). */
function shardOfLink(name: string): number {
  return Number(/-s(\d+)$/.exec(name)?.[1] ?? 0);
}

/** The order of a worker of several queues, for its start line: `strict` or `weighted 6,3,1`. */
function orderText(slots: Slots): string {
  const order = slots.order as OrderOptions;
  return order.order === "strict" ? "strict" : `weighted ${order.weights.join(",")}`;
}
