// Outcomes expire: a finished job after resultTtlS, a failed one (also one dead-lettered because
// its worker died on the last attempt) after failureTtlS (docs/internals.md, Memory). The two
// TTLs are set far apart, so each is checked from both sides: a record kept with the other TTL
// (or none) fails.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import {
  oneShardFile,
  openQueue,
  ROOT,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const TTLS = { resultTtlS: 1_000, failureTtlS: 500_000 };

/** TTL of a key in seconds (-1: none, -2: no key). */
async function ttl(key: string): Promise<number> {
  await using r = await rawRedis();
  return Number(await r.sendCommand(["TTL", key]));
}

/** Within a few seconds below `s` (the test's own time), never above. */
function expectTtl(actual: number, s: number): void {
  expect(actual).toBeLessThanOrEqual(s);
  expect(actual).toBeGreaterThan(s - 30);
}

describe("record TTLs", () => {
  test("a finished job is kept resultTtlS, not failureTtlS", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const ok = defineTask({ name: "ok", run: async () => "done" });
    const w = await startWorker({ prefix, tasks: [ok], ...TTLS });
    const id = await q.enqueue("ok", null);
    expect((await q.waitForJobs([id], { timeoutMs: 5_000 })).ended.get(id)?.status).toBe(
      "finished",
    );
    expectTtl(await ttl(q.keys.result(id)), TTLS.resultTtlS);
    await w.stop();
  });

  test("a job that failed for good is kept failureTtlS", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const no = defineTask({
      name: "no",
      run: async () => {
        throw new PermanentError("no");
      },
    });
    const w = await startWorker({ prefix, tasks: [no], ...TTLS });
    const id = await q.enqueue("no", null);
    expect((await q.waitForJobs([id], { timeoutMs: 5_000 })).ended.get(id)?.status).toBe("failed");
    expectTtl(await ttl(q.keys.result(id)), TTLS.failureTtlS);
    await w.stop();
  });

  test("a job dead-lettered when claimed after its worker died on the last attempt is kept failureTtlS", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const id = await q.enqueue("poison", null);
    // A real worker process that dies while running the job (tests/fixtures/crash-worker.ts):
    // its entry stays pending, with the job's only attempt used.
    const fixture = resolve(ROOT, "tests/fixtures/crash-worker.ts");
    const dying = Bun.spawn({
      cmd: [process.execPath, fixture, redisUrl(), prefix, "dying"],
      stdout: "ignore",
      stderr: "ignore",
    });
    expect(await dying.exited).toBe(3); // the poison task exits its process mid-attempt
    const poison = defineTask({ name: "poison", run: async () => "must not run" });
    const w = await startWorker({ prefix, tasks: [poison], claimIdleMs: 100, ...TTLS });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "failed", result: null });
    expect(ended.get(id)?.error).toStartWith("abandoned:");
    expectTtl(await ttl(q.keys.result(id)), TTLS.failureTtlS);
    await w.stop();
  });
});
