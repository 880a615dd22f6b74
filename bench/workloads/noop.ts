// Workload 2, no-op processing: jobs/s end to end (enqueued beforehand, timed from the
// workers' start to the last recorded result) through one worker process at concurrency 1, 16
// and 128, and through 2 processes. The raw loop reads COUNT min(concurrency, 100). At
// concurrency 128 it also records CPU per job of the worker and of Redis: where time goes.
import { type Ctx, pick, processJobs } from "./_common.ts";

export async function noop(ctx: Ctx): Promise<void> {
  const runs = [
    { procs: 1, concurrency: 1, n: ctx.size.noopC1 },
    { procs: 1, concurrency: 16, n: ctx.size.noop },
    { procs: 1, concurrency: 128, n: ctx.size.noop },
    { procs: 2, concurrency: 128, n: ctx.size.noop },
  ];
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const run of runs) {
      for (const c of pick(ctx, ["courier", "bullmq", "raw"])) {
        const name = `noop.${run.procs}proc.c${run.concurrency}`;
        ctx.log(`noop round ${round}: ${name} ${c.name} (${run.n} jobs)`);
        const r = await processJobs(ctx, c, { ...run, task: "noop", payload: (i) => ({ i }) });
        ctx.rec.add(name, c.name, "jobs/s", r.jobsPerS);
        if (run.procs === 1 && run.concurrency === 128 && r.workerCpuUs && r.redisCpuUs) {
          ctx.rec.add("noop.cpu.worker", c.name, "us/job", r.workerCpuUs);
          ctx.rec.add("noop.cpu.redis", c.name, "us/job", r.redisCpuUs);
        }
      }
    }
  }
}
