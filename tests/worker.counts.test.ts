// A worker's counts of finished jobs and failed attempts (Worker.processed, .failed: the
// heartbeat and the stop line report them) are kept whether or not it logs: with no logger the
// per-job log fields are never built (lib/worker/attempt-ends.ts), the counting must not go with them.
import { describe, expect, test } from "bun:test";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { logRecorder, openQueue, startWorker, testPrefix, until } from "./helpers.ts";

const maybe = defineTask({
  name: "maybe",
  run: async (p: { fail: boolean }) => {
    if (p.fail) throw new PermanentError("no");
    return null;
  },
});

describe("a worker's counts", () => {
  for (const logged of [false, true]) {
    test(`finished jobs and failed attempts, ${logged ? "with" : "without"} a logger`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [maybe], ...(logged ? { logger: log } : {}) });
      try {
        const ids = await Promise.all(
          [false, true, false].map((fail) => q.enqueue("maybe", { fail }, { maxAttempts: 1 })),
        );
        const { ended } = await q.waitForJobs(ids, { timeoutMs: 10_000 });
        expect(ids.map((id) => ended.get(id)?.status)).toEqual(["finished", "failed", "finished"]);
        // The worker counts when the write's reply comes, which may be after the wait wakes.
        await until(() => w.processed + w.failed >= 3, "three outcomes counted");
        expect([w.processed, w.failed]).toEqual([2, 1]);
        const lines = log.events().filter((e) => e === "finished" || e === "failed");
        expect(lines.sort()).toEqual(logged ? ["failed", "finished", "finished"] : []);
      } finally {
        await w.stop();
      }
    });
  }
});
