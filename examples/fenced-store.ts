// Fenced runs (README, "Fenced runs"): a task passes its run's fence (ctx.fence) with every
// write to its own store, and the store keeps the highest fence per key, refusing a lower one.
// A run that stalled (a long GC pause, a frozen VM) while its lease lapsed, and another worker
// ran the job, then comes back and writes late: its fence is lower, its write is refused.
// Run it with `bun examples/fenced-store.ts` (REDIS_URL defaults to redis://127.0.0.1:6379).
import { createClient } from "redis";
import {
  compareFences,
  defineTask,
  fencedSet,
  PermanentError,
  Queue,
  RetryableError,
  Worker,
} from "../lib/index.ts";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// The task's own store: here a Redis hash per key (`fence`, `value`) written by fencedSet, a
// script that compares and writes in one step. In SQL, a `numeric(60)` column and the check in
// the statement: `… ON CONFLICT (name) DO UPDATE SET … WHERE reports.fence <= EXCLUDED.fence`.
const store = await createClient({ url: redisUrl }).connect();
const key = "example:report:weekly";
await store.del(key);

const fences: string[] = [];
const publish = defineTask({
  name: "publish-report",
  async run(payload: { body: string }, ctx) {
    fences.push(ctx.fence);
    const body = `${payload.body} (attempt ${ctx.attempt})`;
    if (!(await fencedSet(store, key, ctx.fence, body))) {
      // A later run of this job wrote first: this one is superseded. Courier ignores a failure
      // from a run that is no longer the job's current one; a return would record a result.
      throw new PermanentError("superseded by a later run of this job");
    }
    // A first attempt that fails after writing, so that the job runs twice.
    if (ctx.attempt === 1) throw new RetryableError("upstream timed out", { retryAfterMs: 0 });
    return "published";
  },
});

const queue = await Queue.connect({ redisUrl, queue: "reports" });
const worker = await Worker.start({ redisUrl, queue: "reports", tasks: [publish] });
const id = await queue.enqueue(publish, { body: "weekly report" });
await queue.waitForJobs([id], { timeoutMs: 10_000 });
console.log(
  `runs: ${fences.length}, each fence higher: ${compareFences(fences[1]!, fences[0]!) > 0}`,
);

// Run 1 comes back late, as a stalled run would, and writes with its own fence: refused.
const late = await fencedSet(store, key, fences[0]!, "weekly report (stale)");
console.log(`late write from run 1: ${late ? "written" : "refused"}`);
console.log(`${key} = ${await store.hGet(key, "value")}`);

await worker.stop();
await queue.close();
await store.del(key);
await store.quit();
