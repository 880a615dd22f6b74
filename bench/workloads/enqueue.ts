// Workload 1, enqueue: jobs/s for single enqueues awaited one by one, for the library's bulk
// API, and (Courier) for `trigger --file` as a user runs it, process start included.
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueKeys } from "../../lib/index.ts";
import { nowMs, ROOT } from "../_proc.ts";
import { flush } from "../_redis.ts";
import type { ContenderImpl } from "../contenders/types.ts";
import { type Ctx, freshQueue, pick } from "./_common.ts";

export async function enqueue(ctx: Ctx): Promise<void> {
  const { size } = ctx;
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const c of pick(ctx, ["courier", "bullmq", "raw"])) {
      ctx.log(`enqueue round ${round}: ${c.name}`);
      ctx.rec.add("enqueue.single", c.name, "jobs/s", await single(ctx, c, size.single));
      ctx.rec.add("enqueue.bulk", c.name, "jobs/s", await bulk(ctx, c, size.bulk));
      if (c.name === "courier") {
        ctx.rec.add("enqueue.trigger-file", c.name, "jobs/s", await triggerFile(ctx, size.trigger));
      }
    }
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

async function bulk(ctx: Ctx, c: ContenderImpl, n: number): Promise<number> {
  await flush(ctx.redis.admin);
  const producer = await c.producer(ctx.redis.url, freshQueue(c.name), "noop");
  try {
    await producer.enqueueOne({ i: -1 });
    const payloads = Array.from({ length: n }, (_, i) => ({ i }));
    const t0 = nowMs();
    await producer.enqueueBulk(payloads);
    return n / ((nowMs() - t0) / 1_000);
  } finally {
    await producer.close();
  }
}

/** `bun bin/trigger.ts --file <n URLs>`, timed from spawn to exit. */
async function triggerFile(ctx: Ctx, n: number): Promise<number> {
  await flush(ctx.redis.admin);
  const queue = freshQueue("trigger");
  const file = join(tmpdir(), `courier-bench-urls-${process.pid}.txt`);
  writeFileSync(file, Array.from({ length: n }, (_, i) => `https://example.org/p/${i}\n`).join(""));
  try {
    const cmd = [process.execPath, join(ROOT, "bin/trigger.ts"), "--file", file, "--queue", queue];
    cmd.push("--prefix", "bench", "--redis-url", ctx.redis.url);
    const t0 = nowMs();
    const proc = Bun.spawn({ cmd, cwd: ROOT, stdout: "ignore", stderr: "pipe" });
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    const seconds = (nowMs() - t0) / 1_000;
    if (code !== 0) throw new Error(`trigger --file exited ${code}: ${err}`);
    const stats = queueKeys("bench", queue).stats;
    const enqueued = Number(await ctx.redis.admin.sendCommand(["HGET", stats, "enqueued"]));
    if (enqueued !== n) throw new Error(`trigger --file enqueued ${enqueued} of ${n}`);
    return n / seconds;
  } finally {
    rmSync(file, { force: true });
  }
}
