// BullMQ under Bun on the same Redis, durability settings equivalent to Courier's: results
// kept (removeOnComplete/removeOnFail false) and stalled-job detection on (its default).
// The Redis client is Bun's built-in one, BullMQ's fastest option here (about a third faster
// than node-redis in our runs); BENCH_BULLMQ_CLIENT=node-redis selects node-redis instead.

import type { EventEmitter } from "node:events";
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
import { createWordCountTask, type TaskContext } from "../../lib/index.ts";
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
    wordcount.run(job.data, (signal ?? new AbortController().signal) as TaskContext, {
      id: String(job.id),
      task: wordcount.name,
      attempt: job.attemptsMade + 1,
      maxAttempts: 3,
      fence: String(job.attemptsMade + 1),
    });
}

/**
 * Waits for job `id` to complete (or throws when it failed), as Job.waitUntilFinished does: listen
 * for its events, then check once whether it had finished before the listener was ready. Not
 * waitUntilFinished itself: it reads that check's reply inside an async Promise executor, so a
 * null reply (seen once under load: `TypeError: null is not an object (evaluating '[status,
 * result]')`) escaped as an unhandled rejection, failing the run, and the wait hung until its
 * timeout. Here a check that throws or reads no final state is tried again every 50 ms while
 * the events are awaited. The normal case costs what BullMQ's does: one listener, one check
 * (the event comes well within the 50 ms).
 */
function waitFinished(q: Queue, qe: QueueEvents, id: string, ttlMs: number): Promise<void> {
  // Per-job events (`completed:<id>`) are emitted but not in QueueEvents' typed listener list.
  const emitter = qe as unknown as EventEmitter;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let poll: ReturnType<typeof setTimeout> | undefined;
    const end = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timeout);
      clearTimeout(poll);
      emitter.off(`completed:${id}`, onCompleted);
      emitter.off(`failed:${id}`, onFailed);
      if (err) reject(err);
      else resolve();
    };
    const onCompleted = () => end();
    const onFailed = (args: { failedReason?: string }) => end(new Error(args.failedReason));
    const timeout = setTimeout(
      () => end(new Error(`job ${id} not finished in ${ttlMs} ms`)),
      ttlMs,
    );
    emitter.on(`completed:${id}`, onCompleted);
    emitter.on(`failed:${id}`, onFailed);
    const check = async () => {
      const state = await q.getJobState(id).catch(() => null);
      if (state === "completed") end();
      else if (state === "failed") end(new Error(`job ${id} failed`));
      // Not final yet: the event should end the wait, but the QueueEvents reader starts at the
      // stream's end on its first XREAD, which can come after `waitUntilReady` and after the
      // job's event (the first job after it was created missed it, about 1 run in 10): look
      // again every 50 ms until one of them ends the wait.
      else if (!done) poll = setTimeout(check, 50);
    };
    void qe.waitUntilReady().then(check, () => check());
  });
}

export const bullmq: ContenderImpl = {
  name: "bullmq",
  finishedCommand: (queue) => ["ZCARD", `bull:${queue}:completed`],
  async producer(url, queue, kind) {
    const conn = await client(url);
    const q = new Queue(queue, { connection: conn.connection });
    const events: { qe: QueueEvents; conn: Client }[] = [];
    return {
      async enqueueOne(data) {
        const job = await q.add(kind, data, JOB_OPTS);
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
        await waitFinished(q, events[0]!.qe, id, 30_000);
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
