// Rate limits (issue 14; `bun run bench --only limits`, not run by default). Two claims:
// 1. A queue that uses no limit pays nothing for them: the no-op figure (one worker process,
//    concurrency 16) of this tree against the same measured with the code before limits (a
//    snapshot of COURIER_BENCH_BASE, default `main`: its lib/ with this bench/), on the same
//    Redis, the two alternating which goes first each round. `limits.noop.ratio` is this tree's
//    figure over the base's of the same round: 1 within noise.
// 2. A queue limited to RATE/s starts jobs at that rate: two workers (concurrency 64 each) drain
//    a backlog, each start timed in the task (performance.now(), one process); the rate is the
//    starts after the first over the time from the first to the last, and its error against
//    the limit is in percent (the claim: within 5%).
import { join } from "node:path";
import { Admin, defineTask, parseRate, Queue, Worker } from "../../lib/index.ts";
import { ROOT } from "../_proc.ts";
import { flush } from "../_redis.ts";
import { extractSnapshot, git } from "../_snapshot.ts";
import { courier } from "../contenders/courier.ts";
import type { ContenderImpl } from "../contenders/types.ts";
import { type Ctx, processJobs } from "./_common.ts";

const CONCURRENCY = 16;
/**
 * Each limited worker's concurrency: a job waits for its slot holding one, so the two workers'
 * slots must cover the reads' round trips at the rate (128 jobs are 256 ms of 500/s).
 */
const LIMITED_CONCURRENCY = 64;
/** The limit of the limited queue: starts spaced 2 ms apart. */
const RATE = 500;

export async function limits(ctx: Ctx): Promise<void> {
  const ref = process.env.COURIER_BENCH_BASE ?? "main";
  if (git(ROOT, ["rev-parse", ref]) === git(ROOT, ["rev-parse", "HEAD"])) {
    ctx.log(`limits: the base ${ref} is HEAD; set COURIER_BENCH_BASE to the code before limits`);
  }
  const base = extractSnapshot(ROOT, ref, "COURIER_BENCH_BASE");
  ctx.log(`limits: base ${ref} (${base.commit}) against this tree`);
  try {
    const before = baseContender(base.dir);
    const n = ctx.size.noop;
    for (let round = 1; round <= ctx.rounds; round++) {
      const order = round % 2 === 1 ? [courier, before] : [before, courier];
      const figure = new Map<ContenderImpl, number>();
      for (const c of order) {
        const which = c === courier ? "this tree" : `base ${base.commit}`;
        ctx.log(`limits round ${round}: noop c${CONCURRENCY}, ${which} (${n} jobs)`);
        const r = await processJobs(ctx, c, {
          n,
          procs: 1,
          concurrency: CONCURRENCY,
          task: "noop",
          payload: (i) => ({ i }),
        });
        figure.set(c, r.jobsPerS);
      }
      const [now, then] = [figure.get(courier)!, figure.get(before)!];
      ctx.rec.add(`limits.noop.c${CONCURRENCY}`, "courier", "jobs/s", now);
      ctx.rec.add(`limits.noop.c${CONCURRENCY}.base`, "courier", "jobs/s", then);
      ctx.rec.add("limits.noop.ratio", "courier", "x", now / then);
      ctx.log(`limits round ${round}: a queue limited to ${RATE}/s`);
      const rate = await limitedRate(ctx, round, Math.min(n, RATE * 4));
      ctx.rec.add(`limits.rate${RATE}.starts`, "courier", "jobs/s", rate);
      ctx.rec.add(`limits.rate${RATE}.error`, "courier", "%", (100 * Math.abs(rate - RATE)) / RATE);
    }
  } finally {
    base.remove();
  }
}

/** Courier with the base's worker: its lib/ run by this bench's worker process. */
function baseContender(dir: string): ContenderImpl {
  return {
    ...courier,
    workerCommand: (spec) => ({
      cmd: [process.execPath, join(dir, "bench/worker-proc.ts"), "courier", JSON.stringify(spec)],
      ready: /^ready$/,
      needsGo: true,
    }),
  };
}

/** Starts per second of two workers draining `n` jobs of a queue limited to RATE/s. */
async function limitedRate(ctx: Ctx, round: number, n: number): Promise<number> {
  await flush(ctx.redis.admin);
  const prefix = `limits-${process.pid}-${round}`;
  const starts: number[] = [];
  const task = defineTask({
    name: "noop",
    run: async () => {
      starts.push(performance.now());
    },
  });
  const config = { redisUrl: ctx.redis.url, prefix, queue: "limited" };
  const admin = await Admin.connect(config);
  const queue = await Queue.connect(config);
  const workers: Worker[] = [];
  try {
    await admin.setLimits({ rate: parseRate(`${RATE}/s`) });
    const jobs = Array.from({ length: n }, (_, i) => ({ task: "noop", payload: { i } }));
    await queue.enqueueMany(jobs);
    const all = Promise.withResolvers<void>();
    const check = setInterval(() => starts.length >= n && all.resolve(), 20);
    for (let w = 0; w < 2; w++) {
      workers.push(
        await Worker.start({ ...config, tasks: [task], concurrency: LIMITED_CONCURRENCY }),
      );
    }
    await all.promise.finally(() => clearInterval(check));
    starts.sort((a, b) => a - b);
    return ((n - 1) * 1_000) / (starts.at(-1)! - starts[0]!);
  } finally {
    await Promise.all(workers.map((w) => w.stop(0)));
    await Promise.all([queue.close(), admin.close()]);
  }
}
