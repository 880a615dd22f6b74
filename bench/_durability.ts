// The durability scenario of research/cluster.md §1.3 and §5.9, on a fresh local 3+3 cluster:
// a producer enqueues 4 KB jobs to a queue of one shard as fast as it can; the shard's replica
// is stopped (SIGSTOP) for `lagMs`, so what its master acknowledges meanwhile piles up in the
// master's replication buffer (4 KB jobs overflow the loopback socket buffers the stopped
// replica would still fill); then the master is killed (kill -9) and the replica resumed
// (SIGCONT): it is promoted with what it had. Every job the producer was told is enqueued is
// then looked up on the promoted master. Used by tests/cluster.durability.test.ts (one run per
// mode) and bench/cluster-durability.ts (three runs each, with WAIT's cost).
import type { Durability } from "../lib/config.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { Queue } from "../lib/queue/queue.ts";
import { destroy } from "../lib/redis/close.ts";
import { connect } from "../lib/redis/connect.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";

export interface DurabilityRun {
  durability: Durability;
  /** Jobs the producer was told are enqueued (acknowledged). */
  acknowledged: number;
  /** Of those, jobs the promoted master does not have. */
  lost: number;
  /** Enqueue calls that failed (no replica in time, connection lost during the failover). */
  refused: number;
  /** kill -9 → the replica serves the shard (ms). */
  failoverMs: number;
}

export interface DurabilityOptions {
  /** How long the replica is stopped before the kill (default 800 ms, as measured in §1.3). */
  lagMs?: number;
  payloadBytes?: number;
  /** Replicated mode's WAIT timeout (default 300 ms). */
  replicaWaitMs?: number;
  /** Told what happens, for a bench's log. */
  onStep?: (step: string) => void;
}

const QUEUE = "dur";
/** Jobs acknowledged before the replica is stopped, and again once the old master is back. */
const WARM_JOBS = 2_000;

export async function durabilityRun(
  durability: Durability,
  options: DurabilityOptions = {},
): Promise<DurabilityRun> {
  const cluster = await startCluster({ fullCoverage: false });
  try {
    return await runOn(cluster, durability, options);
  } finally {
    await cluster.stop();
  }
}

async function runOn(
  cluster: LocalCluster,
  durability: Durability,
  options: DurabilityOptions,
): Promise<DurabilityRun> {
  const step = options.onStep ?? (() => {});
  const prefix = `dur${Date.now().toString(36)}`;
  const key = queueKeys(prefix, QUEUE).stream;
  const { port: masterPort } = await cluster.masterOf(key);
  const replicaPort = await replicaOf(cluster, masterPort);
  const pidOf = (port: number) => cluster.nodes.find((n) => n.port === port)!.pid;
  const queue = await Queue.connect({
    redisUrl: cluster.seedUrl,
    prefix,
    queue: QUEUE,
    shards: 1,
    durability,
    // Shorter than the lag: WAIT answers 0 while the replica is stopped (what an enqueue must
    // then refuse), rather than still waiting when the master dies.
    replicaWaitMs: options.replicaWaitMs ?? 300,
    enqueueBatchSize: 100,
  });
  const producer = new Producer(queue, "x".repeat(options.payloadBytes ?? 4_096));
  const producing = producer.run();
  try {
    await producer.reached(WARM_JOBS);
    process.kill(pidOf(replicaPort), "SIGSTOP");
    step(`replica ${replicaPort} stopped after ${producer.acknowledged.length} jobs`);
    // The lag itself, not a wait for an event: how long the replica falls behind.
    await Bun.sleep(options.lagMs ?? 800);
    const killedAt = performance.now();
    process.kill(pidOf(masterPort), "SIGKILL");
    process.kill(pidOf(replicaPort), "SIGCONT");
    step(`master ${masterPort} killed at ${producer.acknowledged.length} jobs`);
    await until(async () => (await cluster.masterOf(key).catch(() => null))?.port === replicaPort);
    const failoverMs = Math.round(performance.now() - killedAt);
    // The old master back, as a replica of the promoted one: replicated enqueues go on.
    await cluster.restart(masterPort);
    await producer.reached(producer.acknowledged.length + WARM_JOBS / 4, 15_000);
    producer.stop();
    await producing;
    const lost = await countLost(cluster.seedUrl, prefix, producer.acknowledged);
    const { refused } = producer;
    step(`${producer.acknowledged.length} acknowledged, ${lost} lost, ${refused} refused`);
    return { durability, acknowledged: producer.acknowledged.length, lost, refused, failoverMs };
  } finally {
    producer.stop();
    await producing;
    await queue.close();
  }
}

/** Enqueues jobs until stopped, keeping the id of every job it was told is enqueued. */
class Producer {
  readonly acknowledged: string[] = [];
  refused = 0;
  #stopped = false;

  constructor(
    private readonly queue: Queue,
    private readonly payload: string,
  ) {}

  stop(): void {
    this.#stopped = true;
  }

  async run(): Promise<void> {
    const payload = this.payload;
    const stopped = () => this.#stopped;
    const specs = function* () {
      while (!stopped()) yield { task: "noop", payload };
    };
    while (!this.#stopped) {
      try {
        for await (const batch of this.queue.enqueueStream(specs())) {
          for (const job of batch.jobs) this.acknowledged.push(job.id);
        }
      } catch {
        this.refused++;
        await Bun.sleep(20); // while the shard has no master: a new stream, a little later
      }
    }
  }

  /** Resolves once `n` jobs are acknowledged (or `timeoutMs` passed: then it goes on anyway). */
  reached(n: number, timeoutMs = 30_000): Promise<void> {
    return until(() => this.acknowledged.length >= n, timeoutMs, false);
  }
}

/** The port of the replica of the master on `port`. */
async function replicaOf(cluster: LocalCluster, port: number): Promise<number> {
  const client = await connect(`redis://127.0.0.1:${port}`);
  try {
    const info = String(await client.sendCommand(["INFO", "replication"]));
    const replica = /^slave0:.*port=(\d+)/m.exec(info)?.[1];
    if (!replica) throw new Error(`master ${port} of ${cluster.seedUrl} has no replica`);
    return Number(replica);
  } finally {
    destroy(client);
  }
}

/** How many of `ids` the queue does not know, read on a client that learns the layout anew. */
async function countLost(seedUrl: string, prefix: string, ids: readonly string[]) {
  const queue = await Queue.connect({ redisUrl: seedUrl, prefix, queue: QUEUE, retryConnectS: 10 });
  try {
    let lost = 0;
    for (let i = 0; i < ids.length; i += 1_000) {
      const records = await queue.getJobs(ids.slice(i, i + 1_000));
      lost += records.filter((r) => r === null).length;
    }
    return lost;
  } finally {
    await queue.close();
  }
}

/** Polls `check` every 20 ms until it holds; past `timeoutMs` throws (or resolves, `strict` false). */
async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  strict = true,
): Promise<void> {
  for (const deadline = performance.now() + timeoutMs; !(await check()); ) {
    if (performance.now() > deadline) {
      if (strict) throw new Error(`durability run: no progress within ${timeoutMs} ms`);
      return;
    }
    await Bun.sleep(20);
  }
}
