// Rate limits (issue 14; `bun run bench --only limits`, not run by default). Two claims:
// 1. A queue that uses no limit pays nothing for them: the no-op figure (one worker process,
//    concurrency 16) of this tree against the same measured with the code before limits (a
//    snapshot of COURIER_BENCH_BASE, default `main`: its lib/ with this bench/), on the same
//    Redis, the two alternating which goes first each round. `limits.noop.ratio` is this tree's
//    figure over the base's of the same round: 1 within noise.
// 2. A queue limited to RATE/s starts jobs at that rate: two worker processes (concurrency 64
//    each) drain a backlog of no-op jobs, each timed by its worker's `done` line; the rate is
//    the jobs after the first over the time from the first to the last, and its error against
//    the limit is in percent (the claim: within 5%).
import { join } from "node:path";
import { Admin, parseRate } from "../../lib/index.ts";
import { ROOT } from "../_proc.ts";
import { flush } from "../_redis.ts";
import { extractSnapshot, git } from "../_snapshot.ts";
import { courier, PREFIX } from "../contenders/courier.ts";
import type { ContenderImpl } from "../contenders/types.ts";
import {
  type Ctx,
  enqueueInChunks,
  freshQueue,
  processJobs,
  startWorkers,
  waitForResults,
} from "./_common.ts";

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
      const rate = await limitedRate(ctx, Math.min(n, RATE * 4));
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

/**
 * Starts per second of two worker processes draining `n` no-op jobs of a queue limited to
 * RATE/s, from their `done` lines (a no-op job's finish follows its start by a constant).
 */
async function limitedRate(ctx: Ctx, n: number): Promise<number> {
  await flush(ctx.redis.admin);
  const queue = freshQueue("courier");
  const admin = await Admin.connect({ redisUrl: ctx.redis.url, prefix: PREFIX, queue });
  try {
    await admin.setLimits({ rate: parseRate(`${RATE}/s`) });
  } finally {
    await admin.close();
  }
  const producer = await courier.producer(ctx.redis.url, queue, "noop");
  try {
    await enqueueInChunks(producer, n, (i) => ({ i }));
  } finally {
    await producer.close();
  }
  const spec = {
    url: ctx.redis.url,
    queue,
    concurrency: LIMITED_CONCURRENCY,
    task: "noop" as const,
  };
  const { procs, go } = await startWorkers(courier, { ...spec, notify: true }, 2);
  const done: number[] = [];
  for (const p of procs) {
    p.onLine((line) => {
      const m = /^done \S+ (\d+(?:\.\d+)?)/.exec(line);
      if (m) done.push(Number(m[1]));
    });
  }
  try {
    go();
    await waitForResults(ctx, courier, queue, n, procs);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
  done.sort((a, b) => a - b);
  return ((done.length - 1) * 1_000) / (done.at(-1)! - done[0]!);
}
