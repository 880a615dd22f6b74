// BullMQ under Bun on the same Redis, durability settings equivalent to Courier's: results
// kept (removeOnComplete/removeOnFail false) and stalled-job detection on (its default).
// The Redis client is Bun's built-in one, BullMQ's fastest option here (about a third faster
// than node-redis in our runs); BENCH_BULLMQ_CLIENT=node-redis selects node-redis instead.

import {
  createBunRedisClient,
  createNodeRedisClient,
  type IRedisClient,
  type Job,
  Queue,
  QueueEvents,
  Worker,
} from "bullmq";
import { RedisClient } from "bun";
import { createClient } from "redis";
import { createWordCountTask } from "../../lib/index.ts";
import type { ContenderImpl, StartWorker, TaskKind } from "./types.ts";
import { bunWorkerCommand } from "./types.ts";

const JOB_OPTS = { removeOnComplete: false, removeOnFail: false };

type Client = { connection: IRedisClient; close: () => Promise<void> };

/** One connection, wrapped in BullMQ's adapter; closed through the adapter (quit). */
async function client(url: string): Promise<Client> {
  let connection: IRedisClient;
  if (process.env.BENCH_BULLMQ_CLIENT === "node-redis") {
    const c = createClient({ url });
    await c.connect();
    connection = createNodeRedisClient(c);
  } else {
    const c = new RedisClient(url);
    await c.connect();
    connection = createBunRedisClient(c);
  }
  return { connection, close: async () => void (await connection.quit().catch(() => {})) };
}

function processor(kind: TaskKind) {
  if (kind === "noop") return async () => null;
  // The very task code Courier runs, called the way Courier calls it.
  const wordcount = createWordCountTask({ allowPrivate: true });
  return async (job: Job, _token?: string, signal?: AbortSignal) =>
    wordcount.run(job.data, signal ?? new AbortController().signal, {
      id: String(job.id),
      task: wordcount.name,
      attempt: job.attemptsMade + 1,
      maxAttempts: 3,
    });
}

export const bullmq: ContenderImpl = {
  name: "bullmq",
  finishedCommand: (queue) => ["ZCARD", `bull:${queue}:completed`],
  async producer(url, queue, kind) {
    const conn = await client(url);
    const q = new Queue(queue, { connection: conn.connection });
    const events: { qe: QueueEvents; conn: Client }[] = [];
    const jobs = new Map<string, Job>();
    return {
      async enqueueOne(data) {
        const job = await q.add(kind, data, JOB_OPTS);
        jobs.set(job.id!, job);
        return job.id!;
      },
      async enqueueBulk(payloads) {
        await q.addBulk(payloads.map((data) => ({ name: kind, data, opts: JOB_OPTS })));
      },
      async waitFor(id) {
        if (events.length === 0) {
          const c = await client(url);
          const qe = new QueueEvents(queue, { connection: c.connection });
          await qe.waitUntilReady();
          events.push({ qe, conn: c });
        }
        const job = jobs.get(id);
        jobs.delete(id);
        await job!.waitUntilFinished(events[0]!.qe, 30_000);
      },
      async close() {
        for (const e of events) await e.qe.close();
        await q.close();
        for (const c of [conn, ...events.map((e) => e.conn)]) await c.close();
      },
    };
  },
  workerCommand: (spec) => bunWorkerCommand("bullmq", spec),
};

export const startWorker: StartWorker = async (spec, onDone) => {
  const conn = await client(spec.url);
  const worker = new Worker(spec.queue, processor(spec.task), {
    connection: conn.connection,
    concurrency: spec.concurrency,
  });
  if (onDone) worker.on("completed", (job) => onDone(String(job.id)));
  return {
    async stop() {
      await worker.close();
      await conn.close();
    },
  };
};
