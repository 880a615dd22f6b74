// Rate limits (issue 14; `bun run bench --only limits`, not run by default). Two claims:
// 1. A queue that uses no limit pays nothing for them: the no-op figure (one worker process,
//    concurrency 16) of this tree against the same measured with the code before limits (a
//    snapshot of COURIER_BENCH_BASE, default BASE_DEFAULT, the commit issue 14's limits started
//    from: its lib/ with this bench/; a base that has lib/worker/limited.ts is refused), on the
//    same Redis, the two alternating which goes first each round. `limits.noop.ratio` is this
//    tree's figure over the base's of the same round: 1 within noise. Per job, each side's
//    worker CPU, Redis CPU, Redis commands and Redis time: the commands should be the same.
// 2. A queue limited to a rate starts jobs at that rate: two worker processes (concurrency 64
//    each) drain a backlog of no-op jobs, each start told by its task (its job.startedAt, the
//    moment the worker checked its slot); the sustained rate is the least-squares slope over
//    the middle 80 % of the starts, its error against the limit in percent, and the most
//    starts any window of the interval held (at most the limit's N).
//    500/s, and 50/100ms (the same rate, where the lateness bound costs more of it).
import { join } from "node:path";
import { Admin } from "../../lib/index.ts";
import { ROOT } from "../_proc.ts";
import { flush } from "../_redis.ts";
import { extractSnapshot, git } from "../_snapshot.ts";
import { courier, PREFIX } from "../contenders/courier.ts";
import { bunWorkerCommand, type ContenderImpl } from "../contenders/types.ts";
import {
  type Ctx,
  enqueueInChunks,
  freshQueue,
  type Processed,
  processJobs,
  startWorkers,
  waitForResults,
} from "./_common.ts";
import { processOrigins } from "./_origins.ts";
import { mostInWindow, sustainedRate } from "./_starts.ts";

const CONCURRENCY = 16;
/**
 * Each limited worker's concurrency: a job waits for its slot holding one, so the two workers'
 * slots must cover the reads' round trips at the rate (128 jobs are 256 ms of 500/s).
 */
const LIMITED_CONCURRENCY = 64;
interface Limit {
  text: string;
  count: number;
  perMs: number;
  /** In the figures' names. */
  name: string;
}
/**
 * The limited queues: 500/s (slots 2.04 ms apart), and the same rate over a short interval,
 * where the lateness bound L is a larger share of it (docs/internals.md, "Spacing").
 */
const LIMITS: Limit[] = [
  { text: "500/s", count: 500, perMs: 1_000, name: "rate500" },
  { text: "50/100ms", count: 50, perMs: 100, name: "rate50per100ms" },
];

/**
 * The code before limits: the commit issue 14's limits work started from (pinned: `main` has
 * the limits now, and a base with them would compare the tree with itself).
 */
export const BASE_DEFAULT = "98a9b7a";

/**
 * The base to measure against (COURIER_BENCH_BASE, else BASE_DEFAULT) as a short commit, or the
 * one-line reason it cannot be: git does not know it, or it has the limits already.
 */
export function limitsBase(root: string): { commit: string } | { error: string } {
  const ref = process.env.COURIER_BENCH_BASE ?? BASE_DEFAULT;
  const commit = git(root, ["rev-parse", "--short", `${ref}^{commit}`]);
  if (!commit) return { error: `COURIER_BENCH_BASE: git does not know ${ref}` };
  if (git(root, ["ls-tree", "--name-only", commit, "lib/worker/limited.ts"]) !== "") {
    return {
      error: `COURIER_BENCH_BASE: ${ref} (${commit}) has the limits already (lib/worker/limited.ts); give a commit before them, e.g. ${BASE_DEFAULT}`,
    };
  }
  return { commit };
}

export async function limits(ctx: Ctx): Promise<void> {
  const checked = limitsBase(ROOT);
  // bench/run.ts refuses such a base before anything runs; this is for other callers.
  if ("error" in checked) throw new Error(checked.error);
  const base = extractSnapshot(ROOT, checked.commit, "COURIER_BENCH_BASE");
  ctx.log(`limits: base ${base.commit} against this tree`);
  try {
    const before = baseContender(base.dir);
    const sides = [
      { c: courier, name: "this tree", suffix: "" },
      { c: before, name: `base ${base.commit}`, suffix: ".base" },
    ];
    // Which commands run inside scripts, per side (a MONITOR sample): for Redis' time per job.
    const inner = new Map<ContenderImpl, Map<string, number>>();
    for (const side of sides) inner.set(side.c, await processOrigins(ctx, side.c));
    for (let round = 1; round <= ctx.rounds; round++) {
      const order = round % 2 === 1 ? sides : [...sides].reverse();
      const figure = new Map<ContenderImpl, number>();
      for (const side of order) {
        ctx.log(
          `limits round ${round}: noop c${CONCURRENCY}, ${side.name} (${ctx.size.noop} jobs)`,
        );
        const r = await processJobs(ctx, side.c, {
          n: ctx.size.noop,
          procs: 1,
          concurrency: CONCURRENCY,
          task: "noop",
          payload: (i) => ({ i }),
          inner: inner.get(side.c),
        });
        figure.set(side.c, r.jobsPerS);
        recordCosts(ctx, side.suffix, r);
      }
      const [now, then] = [figure.get(courier)!, figure.get(before)!];
      ctx.rec.add("limits.noop.ratio", "courier", "x", now / then);
      for (const limit of LIMITS) await limitedRound(ctx, round, limit);
    }
  } finally {
    base.remove();
  }
}

/** One side's no-op figures: jobs/s, and per job worker CPU, Redis CPU, commands and time. */
function recordCosts(ctx: Ctx, suffix: string, r: Processed): void {
  const add = (name: string, unit: string, value: number | undefined) => {
    if (value !== undefined) ctx.rec.add(`limits.noop.${name}${suffix}`, "courier", unit, value);
  };
  add(`c${CONCURRENCY}`, "jobs/s", r.jobsPerS);
  add("workerCpuUs", "us/job", r.workerCpuUs);
  add("redisCpuUs", "us/job", r.redisCpuUs);
  add("redisCalls", "calls/job", r.redisCalls);
  add("redisUsec", "us/job", r.redisUsec);
}

/** A queue limited to `limit`: its sustained start rate, the error, the most in a window. */
async function limitedRound(ctx: Ctx, round: number, limit: Limit): Promise<void> {
  const perS = (limit.count * 1_000) / limit.perMs;
  const n = Math.min(ctx.size.noop, perS * 4);
  ctx.log(`limits round ${round}: a queue limited to ${limit.text} (${n} jobs)`);
  const starts = await limitedStarts(ctx, limit.text, n);
  const rate = sustainedRate(starts);
  const name = `limits.${limit.name}`;
  ctx.rec.add(`${name}.starts`, "courier", "jobs/s", rate);
  ctx.rec.add(`${name}.error`, "courier", "%", (100 * Math.abs(rate - perS)) / perS);
  ctx.rec.add(`${name}.most`, "courier", "starts", mostInWindow(starts, limit.perMs));
}

/**
 * Courier with the base's worker: the base's own bench/worker-proc.ts and lib/. That worker
 * process predates REDIS_URL (it reads the URL from its spec, on its command line): the URL
 * goes there too, the bench's own password-less Redis (without it, the base's workers would
 * connect to Courier's default Redis, 127.0.0.1:6379).
 */
function baseContender(dir: string): ContenderImpl {
  return {
    ...courier,
    workerCommand: (spec) => {
      const command = bunWorkerCommand("courier", spec, join(dir, "bench/worker-proc.ts"));
      const rest = JSON.parse(command.cmd[3]!) as object;
      command.cmd[3] = JSON.stringify({ ...rest, url: spec.url });
      return command;
    },
  };
}

/**
 * The start times (wall-clock ms, each the task's `job.startedAt`: bench/contenders/courier.ts)
 * of two worker processes draining `n`
 * no-op jobs of a queue limited to `rate`.
 */
async function limitedStarts(ctx: Ctx, rate: string, n: number): Promise<number[]> {
  await flush(ctx.redis.admin);
  const queue = freshQueue("courier");
  const admin = await Admin.connect({ redisUrl: ctx.redis.url, prefix: PREFIX, queue });
  try {
    // Imported here, not at the top: `bench/run.ts --commit REF` loads every workload against
    // REF's lib/, and a REF from before the limits has no parseRate.
    const { parseRate } = await import("../../lib/index.ts");
    await admin.setLimits({ rate: parseRate(rate) });
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
    notify: false,
    stamp: true,
  };
  const { procs, go } = await startWorkers(courier, spec, 2);
  const starts: number[] = [];
  for (const p of procs) {
    p.onLine((line) => {
      const m = /^start (\d+(?:\.\d+)?)/.exec(line);
      if (m) starts.push(Number(m[1]));
    });
  }
  try {
    go();
    await waitForResults(ctx, courier, queue, n, procs);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
  return starts;
}
