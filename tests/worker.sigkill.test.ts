// A job whose run SIGKILLs its worker process every time (docs/internals.md, "3. Start"): nothing is
// written when a job starts, so its attempts come from the entry's delivery count, read when a
// claim takes the lapsed lease over. After maxAttempts runs the claim buries it: failed, with
// a dead letter, and the worker that buried it lives on.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { GROUP, queueKeys } from "../lib/engine/keys.ts";
import { parseOutcome } from "../lib/engine/outcome.ts";
import { enqueue } from "./fixtures/engine.ts";
import {
  deadLetterErrors,
  openQueue,
  pendingCount,
  pinShards,
  ROOT,
  rawRedis,
  redisUrl,
  testPrefix,
  testShards,
} from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

const SCRIPT = resolve(ROOT, "tests/fixtures/crash-worker.ts");

function spawnWorker(prefix: string, name: string) {
  return Bun.spawn({
    cmd: [process.execPath, SCRIPT, redisUrl(), prefix, name, String(testShards() ?? "")],
    stdout: "ignore",
    stderr: "ignore",
  });
}

describe("a job that SIGKILLs its worker every time", () => {
  test("ends failed after 3 of 3 attempts, with a dead letter; the next worker lives", async () => {
    await using r = await rawRedis();
    const prefix = testPrefix();
    const keys = queueKeys(prefix, "default"); // the fixture's workers use the default queue
    await r.sendCommand(["XGROUP", "CREATE", keys.stream, GROUP, "0", "MKSTREAM"]);
    const [job] = await enqueue(r, keys, [{ task: "sigkill", payload: "null", maxAttempts: 3 }]);
    const id = job!.id;
    // Woken by the job's end event (the library's wait), not by polling its result.
    await using queue = await openQueue({ prefix });
    const buried = queue.waitForJobs([id], { timeoutMs: 60_000 }).then(() => "done" as const);
    const signals: string[] = [];
    // Like a supervisor: each worker that dies is replaced, until one survives the job.
    let survivor: ReturnType<typeof spawnWorker> | null = null;
    try {
      for (let i = 0; i < 5 && !survivor; i++) {
        const proc = spawnWorker(prefix, `w${i}`);
        const ended = await Promise.race([proc.exited.then(() => "died" as const), buried]);
        if (ended === "died") signals.push(String(proc.signalCode));
        else survivor = proc;
      }
      expect(signals).toEqual(["SIGKILL", "SIGKILL", "SIGKILL"]);
      expect(survivor).not.toBeNull();
      const o = parseOutcome(String(await r.sendCommand(["GET", keys.result(id)])));
      expect(o).toMatchObject({ status: "failed", attempt: 3, maxAttempts: 3 });
      expect(o?.text).toContain("abandoned: its worker stopped during attempt 3 of 3");
      const letters = await deadLetterErrors(r, keys);
      expect([...letters.keys()]).toEqual([id]);
      expect(letters.get(id)).toContain("abandoned: its worker stopped during attempt 3 of 3");
      expect(await pendingCount(r, keys)).toBe(0);
      survivor!.kill("SIGTERM");
      expect(await survivor!.exited).toBe(0);
    } finally {
      survivor?.kill("SIGKILL"); // a failed assertion leaves no worker on the test Redis
    }
  });
});
