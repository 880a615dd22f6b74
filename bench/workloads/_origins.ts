// Which commands a contender sends itself and which run inside its scripts or transactions, by
// name: a short sample under MONITOR, so INFO commandstats of the measured (unmonitored) runs
// can count each call once (bench/_usec.ts). One sample per contender, phase and pass.
import { flush, monitor } from "../_redis.ts";
import { innerShares } from "../_usec.ts";
import type { ContenderImpl } from "../contenders/types.ts";
import { type Ctx, enqueueInChunks, freshQueue, startWorkers, waitForResults } from "./_common.ts";

const payload = (i: number) => ({ i });

/** innerShares of a bulk enqueue of `ctx.size.monitored` jobs. */
export async function enqueueOrigins(ctx: Ctx, c: ContenderImpl): Promise<Map<string, number>> {
  await flush(ctx.redis.admin);
  const producer = await c.producer(ctx.redis.url, freshQueue(c.name), "noop");
  try {
    const payloads = Array.from({ length: ctx.size.monitored }, (_, i) => payload(i));
    return innerShares(await monitor(ctx.redis, () => producer.enqueueBulk(payloads)));
  } finally {
    await producer.close();
  }
}

/** innerShares of `ctx.size.monitored` queued no-op jobs processed by one worker at c128. */
export async function processOrigins(ctx: Ctx, c: ContenderImpl): Promise<Map<string, number>> {
  const n = ctx.size.monitored;
  await flush(ctx.redis.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(ctx.redis.url, queue, "noop");
  try {
    await enqueueInChunks(producer, n, payload);
  } finally {
    await producer.close();
  }
  const spec = {
    url: ctx.redis.url,
    queue,
    concurrency: 128,
    task: "noop" as const,
    notify: false,
  };
  const { procs, go } = await startWorkers(c, spec, 1);
  try {
    let polls = 0;
    const seen = await monitor(ctx.redis, async () => {
      go();
      polls = await waitForResults(ctx, c, queue, n, procs);
    });
    const poll = c.finishedCommand(queue)[0]!.toLowerCase();
    seen.client.set(poll, Math.max(0, (seen.client.get(poll) ?? 0) - polls));
    return innerShares(seen);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

/** The samples of every contender given, by name. */
export async function originsOf(
  ctx: Ctx,
  contenders: readonly ContenderImpl[],
  sample: (ctx: Ctx, c: ContenderImpl) => Promise<Map<string, number>>,
): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const c of contenders) out.set(c.name, await sample(ctx, c));
  return out;
}
