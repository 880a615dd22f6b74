#!/usr/bin/env bun
// `bun run chaos`: Redis with AOF, a page server and real worker processes; producers enqueue
// word-count jobs while workers are SIGKILLed every second, Redis is killed and restarted,
// and connections are dropped. Then it drains and checks, from Redis and from the page
// server's own request log, that every acknowledged job ended with its correct result
// recorded once, and nothing is pending, delayed or stuck. Prints a JSON summary; exits 1
// when a check fails. `--cluster` (issue 12): the same on a local 3+3 Redis Cluster with a
// queue of 6 shards, one master killed (kill -9) midway instead of the restarts and drops
// (bench/chaos/broker.ts).
import { Queue } from "../lib/queue/queue.ts";
import { mastersOf } from "../lib/redis/cluster.ts";
import { WORDCOUNT_TASK } from "../lib/tasks/wordcount/index.ts";
import { startBroker } from "./chaos/broker.ts";
import { type Checked, checkOutcome, finishedCount } from "./chaos/check.ts";
import { chaosOptions } from "./chaos/options.ts";
import { startPages } from "./chaos/pages.ts";
import { WorkerPool } from "./chaos/workers.ts";

const a = chaosOptions(process.argv.slice(2));
const jobs = a.jobs;
const restarts = a["redis-restarts"];
const deadline = Date.now() + a["max-seconds"] * 1_000;
const began = performance.now();

const broker = await startBroker(a.cluster, restarts);
const pages = startPages(a["page-delay-ms"]);
const prefix = `chaos-${Date.now()}`;
// Jobs get many attempts: a job may land on several workers that are then killed.
const queue = await Queue.connect({
  redisUrl: broker.url,
  prefix,
  shards: broker.shards,
  retryConnectS: 60,
  maxAttempts: 10,
});
const memoryBefore = await usedMemory();
const pool = new WorkerPool({
  redisUrl: broker.workerUrl,
  prefix,
  shards: broker.shards,
  size: a.workers,
  claimIdleMs: 2_000,
  concurrency: a.concurrency,
});
pool.fill();
const timers = [
  setInterval(() => pool.killOne(), a["kill-every-ms"]),
  setInterval(() => broker.drop(), a["drop-every-ms"]),
  setInterval(() => pool.sampleRss(), 250),
];

/** Job id → page number, for every job whose enqueue call returned. */
const acked = new Map<string, number>();
let producerErrors = 0;
// Chaos goes on while the jobs are processed: Redis restarts are spread over the processing,
// and workers keep being killed until nine jobs in ten are done.
await Promise.all([
  ...Array.from({ length: a.producers }, (_, p) => produce(p, a.producers)),
  broker.disrupt(progress, queue.keys.stream),
]);
await progress(0.9);
for (const t of timers) clearInterval(t);
pool.fill();
const ids = [...acked.keys()];
const { pending } = await queue.waitForJobs(ids, {
  timeoutMs: Math.max(1_000, deadline - Date.now()),
});
const checked: Checked = await checkOutcome(queue, acked, pages, pending);
const summary = {
  ...checked.summary,
  seconds: Math.round((performance.now() - began) / 100) / 10,
  workerKills: pool.kills,
  ...broker.done(),
  producerErrors,
  peakWorkerRssMiB: Math.round(pool.peakRssBytes / 2 ** 20),
  redisMemoryBeforeMiB: memoryBefore,
  redisMemoryAfterMiB: await usedMemory(),
};
await pool.stop();
await queue.close();
pages.stop();
await broker.stop();
process.stdout.write(`${JSON.stringify(summary)}\n`);
for (const failure of checked.failures) process.stderr.write(`chaos: FAILED: ${failure}\n`);
if (Date.now() > deadline) process.stderr.write("chaos: FAILED: took longer than --max-seconds\n");
process.exit(checked.failures.length > 0 || Date.now() > deadline ? 1 : 0);

/** Producer p of n: enqueues its share in batches, with fixed ids so a re-sent batch is safe. */
async function produce(p: number, n: number): Promise<void> {
  const mine = Array.from({ length: Math.ceil((jobs - p) / n) }, (_, i) => p + i * n);
  for (let i = 0; i < mine.length; i += 250) {
    const batch = mine.slice(i, i + 250).map((page) => ({
      task: WORDCOUNT_TASK,
      id: `${prefix}-${page}`,
      payload: { url: pages.url(page) },
    }));
    for (;;) {
      try {
        await queue.enqueueMany(batch);
        for (const job of batch) acked.set(job.id, Number(job.id.split("-").pop()));
        break;
      } catch {
        producerErrors++; // Redis down longer than retryConnectS: try the batch again
      }
    }
  }
}

/** Resolves once this share of the jobs has finished (read from the stats counter). */
async function progress(share: number): Promise<void> {
  for (;;) {
    const done = await finishedCount(queue).catch(() => 0);
    if (done >= jobs * share || Date.now() > deadline) return;
    await Bun.sleep(50);
  }
}

/** Redis memory used in MiB, summed over the masters on a cluster. */
async function usedMemory(): Promise<number> {
  let bytes = 0;
  for (const node of await mastersOf(queue.client)) {
    const info = String(await node.sendCommand(["INFO", "memory"]));
    bytes += Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  }
  return Math.round(bytes / 2 ** 16) / 16;
}
