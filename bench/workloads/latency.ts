// Workload 3, latency at low load: single jobs, one at a time, through one worker process.
// "recorded": from the enqueue call to the moment the worker has the reply of the write that
// records the result (it prints the wall-clock time; clocks agree across processes to ~20 µs).
// "waiter": from the enqueue call to a `result --wait` waiter (started right after the enqueue
// returned) waking with the result. Percentiles per round; the figure is their median.
import { percentile } from "../_figures.ts";
import { nowMs } from "../_proc.ts";
import { type BenchRedis, flush } from "../_redis.ts";
import type { ContenderImpl } from "../contenders/types.ts";
import { type Ctx, freshQueue, inTurn, pick, startWorkers } from "./_common.ts";

const PERCENTILES = [50, 90, 99, 100] as const;

export async function latency(ctx: Ctx): Promise<void> {
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const c of inTurn(pick(ctx, ["courier", "bullmq", "raw"]), round)) {
      ctx.log(`latency round ${round}: ${c.name} (${ctx.size.latency} jobs)`);
      const { recorded, waiter } = await measure(ctx.redis, c, ctx.size.latency, ctx.latencyWarmup);
      for (const [kind, values] of [
        ["recorded", recorded],
        ["waiter", waiter],
      ] as const) {
        if (values.length === 0) continue;
        for (const p of PERCENTILES) {
          const label = p === 100 ? "max" : `p${p}`;
          ctx.rec.add(`latency.${kind}.${label}`, c.name, "ms", percentile(values, p));
        }
      }
    }
  }
}

/**
 * One latency run: `warmup` jobs unmeasured, then `n` jobs, one at a time; each job's times in
 * ms from its enqueue call, in the order the jobs ran (bench/latency-curve.ts reads them so).
 */
export async function measure(redis: BenchRedis, c: ContenderImpl, n: number, warmup: number) {
  await flush(redis.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(redis.url, queue, "noop");
  const spec = { url: redis.url, queue, concurrency: 16, task: "noop" as const, notify: true };
  const { procs, go } = await startWorkers(c, spec, 1);
  const proc = procs[0]!;
  const done = new Map<string, (t: number) => void>();
  const early = new Map<string, number>();
  proc.onLine((line) => {
    const [tag, id, t] = line.split(" ");
    if (tag !== "done" || !id) return;
    const resolve = done.get(id);
    if (resolve) resolve(Number(t));
    else early.set(id, Number(t));
  });
  const recorded: number[] = [];
  const waiter: number[] = [];
  try {
    go();
    await proc.waitFor(/^started$/);
    for (let i = -warmup; i < n; i++) {
      const t0 = nowMs();
      const id = await producer.enqueueOne({ i });
      const result = early.has(id)
        ? Promise.resolve(early.get(id)!)
        : new Promise<number>((resolve) => done.set(id, resolve));
      const woke = producer.waitFor && withTimeout(producer.waitFor(id).then(nowMs), id, "waiter");
      const [tRecorded, tWoke] = await Promise.all([
        withTimeout(result, id, "worker's done line"),
        woke,
      ]);
      done.delete(id);
      early.delete(id);
      if (i < 0) continue; // warm-up: connections, scripts, the compiler (--latency-warmup)
      recorded.push(tRecorded - t0);
      if (tWoke !== undefined) waiter.push(tWoke - t0);
    }
  } finally {
    await producer.close();
    await proc.stop();
  }
  return { recorded, waiter };
}

/** Every wait is bounded: a waiter that never wakes fails the run instead of hanging it. */
function withTimeout(p: Promise<number>, id: string, what: string, ms = 30_000): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`job ${id}: no ${what} after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
