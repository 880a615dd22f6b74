// Priorities (issue 13; `bun run bench --only priority`, not run by default): how long a high
// job waits to start while a worker is saturated with low ones. One worker (in this process)
// serves `high,low` in strict order at concurrency C, busy with a backlog of low jobs that each
// take LOW_MS; high jobs are enqueued one at a time, each after the previous one started and a
// random pause (so they land anywhere in the low jobs' cycle), and timed from the enqueue call
// to the moment the task starts (performance.now() in one process). The claim: a high job waits
// behind at most one batch of lower ones, i.e. about LOW_MS at most, however long the backlog.
// For contrast, one probe job enqueued at the tail of the low queue (what a job without
// priority waits): the backlog's length divided by the throughput.
// The same again with the levels of one queue (`levels`): the backlog enqueued with priority
// low, the high jobs with priority high, one worker of that one queue.

import { Queue } from "../../lib/queue/queue.ts";
import { defineTask } from "../../lib/types.ts";
import { Worker } from "../../lib/worker/worker.ts";
import { percentile } from "../_figures.ts";
import { flush } from "../_redis.ts";
import type { Ctx } from "./_common.ts";

/** Run time of a low job (ms): a slot frees every LOW_MS / C on average. */
const LOW_MS = 20;
const CONCURRENCY = 16;
/** Low jobs queued: enough to keep every slot busy through the measurement (~5 s at 800/s). */
const BACKLOG = 4_000;
const HIGH_JOBS = 40;

interface Payload {
  k: number;
  ms: number;
}

export async function priority(ctx: Ctx): Promise<void> {
  for (let round = 1; round <= ctx.rounds; round++) {
    ctx.log(`priority round ${round}: courier, concurrency ${CONCURRENCY}, ${BACKLOG} low jobs`);
    for (const mode of ["queues", "levels"] as const) {
      await flush(ctx.redis.admin);
      const prefix = `prio-${process.pid}-${round}-${mode}`;
      const { high, fifo } = await measure(ctx.redis.url, prefix, mode);
      const name = mode === "queues" ? "priority" : "priority.levels";
      for (const p of [50, 90, 100] as const) {
        const label = p === 100 ? "max" : `p${p}`;
        ctx.rec.add(`${name}.high-start.${label}`, "courier", "ms", percentile(high, p));
      }
      ctx.rec.add(`${name}.fifo-start`, "courier", "ms", fifo);
    }
  }
}

/**
 * `queues`: a worker of `high,low`, high jobs in queue high. `levels`: a worker of one queue,
 * high jobs at priority high, the backlog at low.
 */
async function measure(
  url: string,
  prefix: string,
  mode: "queues" | "levels",
): Promise<{ high: number[]; fifo: number }> {
  const levels = mode === "levels";
  const started = new Map<number, (t: number) => void>();
  const task = defineTask({
    name: "sleep",
    run: async (p: Payload) => {
      started.get(p.k)?.(performance.now());
      await Bun.sleep(p.ms);
    },
  });
  const low = await Queue.connect({ redisUrl: url, prefix, queue: levels ? "one" : "low" });
  const high = levels ? low : await Queue.connect({ redisUrl: url, prefix, queue: "high" });
  const lowSpec = levels ? { priority: "low" as const } : {};
  const highSpec = levels ? { priority: "high" as const } : {};
  const lows = Array.from({ length: BACKLOG }, () => ({
    task: "sleep",
    payload: { k: -1, ms: LOW_MS },
    ...lowSpec,
  }));
  await low.enqueueMany(lows);
  const queues = levels ? ["one"] : ["high", "low"];
  const worker = await Worker.start({
    ...{ redisUrl: url, prefix, queues, concurrency: CONCURRENCY },
    tasks: [task],
  });
  const startOf = (k: number) =>
    new Promise<number>((resolve) => started.set(k, resolve)).finally(() => started.delete(k));
  try {
    await Bun.sleep(200); // the worker saturated
    const waits: number[] = [];
    for (let k = 0; k < HIGH_JOBS; k++) {
      await Bun.sleep(Math.random() * LOW_MS);
      const start = startOf(k);
      const t0 = performance.now();
      await high.enqueue("sleep", { k, ms: 1 }, highSpec);
      waits.push((await start) - t0);
    }
    const probe = startOf(HIGH_JOBS);
    const t0 = performance.now();
    await low.enqueue("sleep", { k: HIGH_JOBS, ms: 1 }, lowSpec);
    return { high: waits, fifo: (await probe) - t0 };
  } finally {
    await worker.stop(0);
    await Promise.all([low.close(), levels ? null : high.close()]);
  }
}
