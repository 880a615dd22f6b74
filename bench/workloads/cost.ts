// Workload 5, cost per job: Redis memory per queued job and per kept result, Redis commands
// per job (INFO commandstats: every command run, scripts' inner ones included; MONITOR: the
// commands clients sent, i.e. round trips' worth of work), and Courier's worker RSS after a few jobs versus after ten times more.
import { percentile } from "../_figures.ts";
import type { WorkerProc } from "../_proc.ts";
import { callsBetween, commandCalls, flush, monitor, sum, usedMemory } from "../_redis.ts";
import type { ContenderImpl } from "../contenders/types.ts";
import {
  type Ctx,
  enqueueInChunks,
  freshQueue,
  inTurn,
  pick,
  startWorkers,
  waitForResults,
} from "./_common.ts";

const payload = (i: number) => ({ i });
const MB = 1024 * 1024;

export async function cost(ctx: Ctx): Promise<void> {
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const c of inTurn(pick(ctx, ["courier", "bullmq", "raw"]), round)) {
      ctx.log(`cost round ${round}: ${c.name} memory and commands (${ctx.size.queued} jobs)`);
      await memoryAndCommands(ctx, c);
      ctx.log(`cost round ${round}: ${c.name} under MONITOR (${ctx.size.monitored} jobs)`);
      const counted = await monitored(ctx, c, ctx.size.monitored);
      ctx.rec.add("cost.cmds.client", c.name, "cmds/job", sum(counted.client) / ctx.size.monitored);
      // Worker RSS does not depend on Redis' persistence: measured once, on the pass without AOF.
      if (c.name === "courier" && ctx.persistence === "off") await rss(ctx, c);
    }
  }
}

/** No-op jobs through one worker process at concurrency 128; its RSS at the end. */
async function work(
  ctx: Ctx,
  c: ContenderImpl,
  queue: string,
  n: number,
  onCount?: (count: number, proc: WorkerProc) => void,
): Promise<{ polls: number; rssEnd: number }> {
  const spec = {
    url: ctx.redis.url,
    queue,
    concurrency: 128,
    task: "noop" as const,
    notify: false,
  };
  const { procs, go } = await startWorkers(c, spec, 1);
  const proc = procs[0]!;
  try {
    go();
    const polls = await waitForResults(ctx, c, queue, n, procs, (k) => onCount?.(k, proc));
    return { polls, rssEnd: proc.rssBytes() };
  } finally {
    await proc.stop();
  }
}

async function memoryAndCommands(ctx: Ctx, c: ContenderImpl): Promise<void> {
  const { admin } = ctx.redis;
  const n = ctx.size.queued;
  await flush(admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(ctx.redis.url, queue, "noop");
  const [mem0, calls0] = [await usedMemory(admin), await commandCalls(admin)];
  try {
    await enqueueInChunks(producer, n, payload);
  } finally {
    await producer.close();
  }
  const [mem1, calls1] = [await usedMemory(admin), await commandCalls(admin)];
  const { polls } = await work(ctx, c, queue, n);
  const [mem2, calls2] = [await usedMemory(admin), await commandCalls(admin)];
  const pollCmd = c.finishedCommand(queue)[0]!.toLowerCase();
  ctx.rec.add("cost.mem.queued", c.name, "bytes/job", (mem1 - mem0) / n);
  ctx.rec.add("cost.mem.result", c.name, "bytes/job", (mem2 - mem0) / n);
  ctx.rec.add("cost.cmds.enqueue", c.name, "cmds/job", callsBetween(calls0, calls1) / n);
  const processCalls = callsBetween(calls1, calls2, new Map([[pollCmd, polls]]));
  ctx.rec.add("cost.cmds.process", c.name, "cmds/job", processCalls / n);
}

/**
 * Enqueue and process `n` jobs under MONITOR, the worker already started (its start-up and
 * shutdown are not counted; its idle timers are). The bench's own polls are left out.
 */
export async function monitored(ctx: Ctx, c: ContenderImpl, n: number) {
  await flush(ctx.redis.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(ctx.redis.url, queue, "noop");
  const spec = {
    url: ctx.redis.url,
    queue,
    concurrency: 128,
    task: "noop" as const,
    notify: false,
  };
  const { procs, go } = await startWorkers(c, spec, 1);
  let polls = 0;
  try {
    go();
    await procs[0]!.waitFor(/^started$/);
    const counted = await monitor(ctx.redis, async () => {
      await enqueueInChunks(producer, n, payload);
      polls = await waitForResults(ctx, c, queue, n, procs);
    });
    const pollCmd = c.finishedCommand(queue)[0]!.toLowerCase();
    counted.client.set(pollCmd, (counted.client.get(pollCmd) ?? 0) - polls);
    return counted;
  } finally {
    await producer.close();
    await procs[0]!.stop();
  }
}

/**
 * Courier's worker RSS in one process: after rssFirst, half of rssLast and rssLast no-op jobs,
 * and its peak from the first sample on (read at every poll, so garbage collection's swings
 * show: one sample alone can land before or after a collection).
 */
async function rss(ctx: Ctx, c: ContenderImpl): Promise<void> {
  const { rssFirst, rssLast } = ctx.size;
  const mid = rssLast / 2;
  ctx.log(`cost: ${c.name} worker RSS from ${short(rssFirst)} to ${short(rssLast)} jobs`);
  await flush(ctx.redis.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(ctx.redis.url, queue, "noop");
  try {
    await enqueueInChunks(producer, rssLast, payload);
  } finally {
    await producer.close();
  }
  let [first, half, peak] = [0, 0, 0];
  // Every poll's reading, for the medians over a window at each end (see below).
  const early: number[] = [];
  const late: number[] = [];
  const window = rssLast * RSS_WINDOW;
  const { rssEnd } = await work(ctx, c, queue, rssLast, (count, proc) => {
    if (count < rssFirst) return;
    const now = proc.rssBytes();
    first ||= now;
    if (!half && count >= mid) half = now;
    peak = Math.max(peak, now);
    if (count < rssFirst + window) early.push(now);
    if (count >= rssLast - window) late.push(now);
  });
  late.push(rssEnd);
  ctx.rec.add(`cost.rss.after-${short(rssFirst)}`, c.name, "MB", first / MB);
  ctx.rec.add(`cost.rss.after-${short(mid)}`, c.name, "MB", half / MB);
  ctx.rec.add(`cost.rss.after-${short(rssLast)}`, c.name, "MB", rssEnd / MB);
  ctx.rec.add("cost.rss.peak", c.name, "MB", Math.max(peak, rssEnd) / MB);
  ctx.rec.add("cost.rss.growth", c.name, "x", rssEnd / first);
  // A single reading lands anywhere in a garbage collection's saw-tooth (about +-10% here),
  // so the ends are also compared as medians of every reading within 5% of the run (in jobs)
  // after rssFirst and before rssLast.
  // (A short run may poll no reading inside the first window: its first reading stands in.)
  const [a, b] = [early.length > 0 ? percentile(early, 50) : first, percentile(late, 50)];
  ctx.rec.add(`cost.rss.median-${short(rssFirst)}`, c.name, "MB", a / MB);
  ctx.rec.add(`cost.rss.median-${short(rssLast)}`, c.name, "MB", b / MB);
  ctx.rec.add("cost.rss.growth-median", c.name, "x", b / a);
}

/** The share of rssLast (in jobs) whose readings make each end's median. */
const RSS_WINDOW = 0.05;

export function short(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}
