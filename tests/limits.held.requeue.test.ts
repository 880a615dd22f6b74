// Requeue from dead letters starts a job's hold counts afresh (requeue.lua): a job that failed
// for good after maxHolds holds, requeued, may be held again up to maxHolds before it fails.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { HeldError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, redisUrl, startWorker, testPrefix } from "./helpers.ts";

describe("requeue after holds", () => {
  test("a requeued job's hold counts start at zero", async () => {
    const prefix = testPrefix();
    let holdsLeft = 2;
    const t = defineTask({
      name: "t",
      limitKey: () => "h1",
      run: async () => {
        if (holdsLeft > 0) {
          holdsLeft--;
          throw new HeldError(1, "busy");
        }
        return "ok";
      },
    });
    await using q = await openQueue({ prefix, queue: "q" });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
    const w = await startWorker({ prefix, queue: "q", tasks: [t], maxHolds: 1 });
    try {
      const id = await q.enqueue(t, null);
      // Held once, then the second hold is one too many: failed for good.
      await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect((await q.getJob(id))?.status).toBe("failed");
      holdsLeft = 1;
      expect(await admin.requeue([id])).toEqual([{ id, verdict: "requeued" }]);
      // Held once more (within maxHolds 1 again), then it runs.
      const done = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(done.pending).toEqual([]);
      expect((await q.getJob(id))?.status).toBe("finished");
    } finally {
      await w.stop(1_000);
      await admin.close();
    }
  }, 30_000);
});
