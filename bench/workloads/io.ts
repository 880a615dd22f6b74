// Workload 4, I/O-bound word count: pages from a local server that answers each after 100 ms.
// One Courier worker process (the real word-count task) and one BullMQ worker process (the same
// task's code) at the same concurrency, versus one `rq worker` (one job at a time, naive count).
import { startPageServer } from "../page-server.ts";
import { type Ctx, inTurn, pick, processJobs } from "./_common.ts";

export async function io(ctx: Ctx): Promise<void> {
  const server = startPageServer();
  try {
    for (let round = 1; round <= ctx.rounds; round++) {
      for (const c of inTurn(pick(ctx, ["courier", "bullmq", "rq"]), round)) {
        const n = c.name === "rq" ? ctx.size.ioRq : ctx.size.io;
        const concurrency = c.name === "rq" ? 1 : ctx.ioConcurrency;
        ctx.log(`io round ${round}: ${c.name} (${n} pages, concurrency ${concurrency})`);
        const payload = (i: number) => ({ url: `http://127.0.0.1:${server.port}/p/${i}` });
        const r = await processJobs(ctx, c, {
          n,
          procs: 1,
          concurrency,
          task: "wordcount",
          payload,
        });
        ctx.rec.add("io.wordcount", c.name, "jobs/s", r.jobsPerS);
      }
    }
  } finally {
    await server.stop(true);
  }
}
