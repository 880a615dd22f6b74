// A service with its own task: enqueue jobs in bulk, run a worker in-process, wait for results.
// Run it with `bun examples/service.ts` (REDIS_URL defaults to redis://127.0.0.1:6379).
import { defineTask, PermanentError, Queue, Worker } from "../lib/index.ts";

// A task is a name plus an async function of a JSON payload and its context: the attempt's
// AbortSignal, with the job's id, attempt, progress and a logger on it.
const resize = defineTask({
  name: "thumbnail",
  validate(payload: unknown) {
    const p = payload as { width?: unknown };
    if (typeof p?.width !== "number") throw new PermanentError("width must be a number");
    return p as { width: number };
  },
  async run(payload, ctx) {
    ctx.throwIfAborted(); // long tasks check their signal (timeouts, shutdown)
    ctx.progress(50); // 0-100 or a small JSON object: `result` shows it while the job runs
    if (ctx.attempt > 1) ctx.log("warn", "resizing again", { width: payload.width });
    return { width: Math.round(payload.width / 4) };
  },
});

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const queue = await Queue.connect({ redisUrl, queue: "images" });
const worker = await Worker.start({ redisUrl, queue: "images", tasks: [resize], concurrency: 8 });

const jobs = await queue.enqueueMany(
  [640, 800, 1024].map((width) => ({ task: resize, payload: { width } })),
);
const ids = jobs.map((j) => j.id);
await queue.waitForJobs(ids, { timeoutMs: 10_000 });
for (const job of await queue.getJobs(ids)) console.log(job?.status, JSON.stringify(job?.result));

await worker.stop();
await queue.close();
