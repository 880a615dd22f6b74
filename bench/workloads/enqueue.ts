// Workload 1, enqueue: jobs/s for single enqueues awaited one by one, for the library's bulk
// API (with Redis' time and CPU per job: bench/_usec.ts), and for a file of URLs enqueued by a
// whole process as a user runs it, process start included: Courier's `trigger --file` and a
// BullMQ addBulk script (bench/contenders/bullmq-file.ts).
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueKeys } from "../../lib/index.ts";
import { BENCH_DIR, nowMs, ROOT, urlEnv } from "../_proc.ts";
import { commandStats, flush, redisCpuS } from "../_redis.ts";
import { topLevelUsec } from "../_usec.ts";
import type { ContenderImpl } from "../contenders/types.ts";
import { type Ctx, freshQueue, inTurn, pick } from "./_common.ts";
import { enqueueOrigins, originsOf } from "./_origins.ts";

export async function enqueue(ctx: Ctx): Promise<void> {
  const { size } = ctx;
  const contenders = pick(ctx, ["courier", "bullmq", "raw"]);
  ctx.log(`enqueue: which commands run inside scripts (MONITOR, ${size.monitored} jobs each)`);
  const origins = await originsOf(ctx, contenders, enqueueOrigins);
  const file = join(tmpdir(), `courier-bench-urls-${process.pid}.txt`);
  writeFileSync(
    file,
    Array.from({ length: size.trigger }, (_, i) => `https://example.org/p/${i}\n`).join(""),
  );
  try {
    for (let round = 1; round <= ctx.rounds; round++) {
      for (const c of inTurn(contenders, round)) {
        ctx.log(`enqueue round ${round}: ${c.name}`);
        ctx.rec.add("enqueue.single", c.name, "jobs/s", await single(ctx, c, size.single));
        const b = await bulk(ctx, c, size.bulk, origins.get(c.name)!);
        ctx.rec.add("enqueue.bulk", c.name, "jobs/s", b.jobsPerS);
        ctx.rec.add("enqueue.redis.usec", c.name, "us/job", b.redisUsec);
        if (b.redisCpuUs > 0) ctx.rec.add("enqueue.cpu.redis", c.name, "us/job", b.redisCpuUs);
        if (c.name === "courier" || c.name === "bullmq") {
          const rate = await wholeProcess(ctx, c.name, file, size.trigger);
          ctx.rec.add("enqueue.trigger-file", c.name, "jobs/s", rate);
        }
      }
    }
  } finally {
    rmSync(file, { force: true });
  }
}

async function single(ctx: Ctx, c: ContenderImpl, n: number): Promise<number> {
  await flush(ctx.redis.admin);
  const producer = await c.producer(ctx.redis.url, freshQueue(c.name), "noop");
  try {
    await producer.enqueueOne({ i: -1 }); // loads the scripts: not part of the figure
    const t0 = nowMs();
    for (let i = 0; i < n; i++) await producer.enqueueOne({ i });
    return n / ((nowMs() - t0) / 1_000);
  } finally {
    await producer.close();
  }
}

async function bulk(ctx: Ctx, c: ContenderImpl, n: number, inner: Map<string, number>) {
  const { admin } = ctx.redis;
  await flush(admin);
  const producer = await c.producer(ctx.redis.url, freshQueue(c.name), "noop");
  try {
    await producer.enqueueOne({ i: -1 });
    const payloads = Array.from({ length: n }, (_, i) => ({ i }));
    const [stats0, cpu0] = [await commandStats(admin), await redisCpuS(admin)];
    const t0 = nowMs();
    await producer.enqueueBulk(payloads);
    const seconds = (nowMs() - t0) / 1_000;
    const [stats1, cpu1] = [await commandStats(admin), await redisCpuS(admin)];
    return {
      jobsPerS: n / seconds,
      redisUsec: topLevelUsec(stats0, stats1, inner) / n,
      // /proc counts CPU in 10 ms ticks: below 50 ms the figure would be mostly rounding.
      redisCpuUs: cpu1 - cpu0 >= 0.05 ? ((cpu1 - cpu0) / n) * 1e6 : 0,
    };
  } finally {
    await producer.close();
  }
}

/**
 * A file of `n` URLs enqueued by a whole process, timed from spawn to exit, its count checked
 * in Redis: Courier's `bun bin/trigger.ts --file`, or BullMQ's addBulk script.
 */
async function wholeProcess(ctx: Ctx, name: string, file: string, n: number): Promise<number> {
  await flush(ctx.redis.admin);
  const queue = freshQueue(`file-${name}`);
  const cmd =
    name === "courier"
      ? [process.execPath, join(ROOT, "bin/trigger.ts"), "--file", file, "--queue", queue].concat([
          "--prefix",
          "bench",
        ])
      : [process.execPath, join(BENCH_DIR, "contenders/bullmq-file.ts"), file, queue];
  // The URL in the environment, not on the command line (urlEnv): both read REDIS_URL.
  const env = { ...process.env, ...urlEnv(ctx.redis.url) };
  const t0 = nowMs();
  const proc = Bun.spawn({ cmd, cwd: ROOT, env, stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const seconds = (nowMs() - t0) / 1_000;
  if (code !== 0) throw new Error(`${name} enqueueing a file exited ${code}: ${err}`);
  const counter =
    name === "courier"
      ? ["HGET", queueKeys("bench", queue).stats, "enqueued"]
      : ["LLEN", `bull:${queue}:wait`];
  const enqueued = Number(await ctx.redis.admin.sendCommand(counter));
  if (enqueued !== n) throw new Error(`${name} enqueued ${enqueued} of ${n} URLs from a file`);
  return n / seconds;
}
