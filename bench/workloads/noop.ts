// Workload 2, no-op processing: jobs/s end to end (enqueued beforehand, timed from the
// workers' start to the last recorded result) through one worker process at concurrency 1, 16
// and 128, and through 2 processes. The raw loop reads COUNT min(concurrency, 100). At
// concurrency 128 it also records CPU per job of the worker and of Redis (INFO cpu), and Redis'
// time per job in top-level calls (INFO commandstats, each call counted once: bench/_usec.ts).
import { type Ctx, inTurn, pick, processJobs } from "./_common.ts";
import { originsOf, processOrigins } from "./_origins.ts";

export async function noop(ctx: Ctx): Promise<void> {
  const runs = [
    { procs: 1, concurrency: 1, n: ctx.size.noopC1 },
    { procs: 1, concurrency: 16, n: ctx.size.noop },
    { procs: 1, concurrency: 128, n: ctx.size.noop },
    { procs: 2, concurrency: 128, n: ctx.size.noop },
  ];
  const contenders = pick(ctx, ["courier", "bullmq", "raw"]);
  ctx.log(`noop: which commands run inside scripts (MONITOR, ${ctx.size.monitored} jobs each)`);
  const origins = await originsOf(ctx, contenders, processOrigins);
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const run of runs) {
      for (const c of inTurn(contenders, round)) {
        const name = `noop.${run.procs}proc.c${run.concurrency}`;
        ctx.log(`noop round ${round}: ${name} ${c.name} (${run.n} jobs)`);
        const c128 = run.procs === 1 && run.concurrency === 128;
        const inner = c128 ? origins.get(c.name) : undefined;
        const r = await processJobs(ctx, c, {
          ...run,
          task: "noop",
          payload: (i) => ({ i }),
          inner,
        });
        ctx.rec.add(name, c.name, "jobs/s", r.jobsPerS);
        if (c128 && r.workerCpuUs && r.redisCpuUs) {
          ctx.rec.add("noop.cpu.worker", c.name, "us/job", r.workerCpuUs);
          ctx.rec.add("noop.cpu.redis", c.name, "us/job", r.redisCpuUs);
        }
        if (r.redisUsec) ctx.rec.add("noop.redis.usec", c.name, "us/job", r.redisUsec);
      }
    }
  }
}
