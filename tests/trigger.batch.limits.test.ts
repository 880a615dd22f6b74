// A batch's bounds and partial runs: a callback waits for at most MAX_PARENTS jobs, counted over
// its own dependsOn and the batch together; trigger stops reading once its batch is past the
// bound (BatchIds) instead of enqueuing the whole file; --skip with --then/--summary says the
// callback covers this run's lines only.
import { describe, expect, test } from "bun:test";
import { BatchIds } from "../lib/cli/trigger-batch.ts";
import { InputError } from "../lib/errors.ts";
import { MAX_PARENTS } from "../lib/queue/depends.ts";
import { overShards } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

describe("the most a callback waits for", () => {
  test("its dependsOn and the batch together past the bound: refused, no callback", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const others = Array.from({ length: MAX_PARENTS }, (_, i) => `other-${i}`);
    // Parents that exist: a callback's unknown parent is refused before the batch is sent.
    await q.enqueueMany(others.map((id) => ({ task: "t", payload: {}, id })));
    const sent = q.enqueueBatch([{ task: "t", payload: {} }], {
      // biome-ignore lint/suspicious/noThenProperty: the library's option; its value is a job spec, no function
      then: { task: "cb", dependsOn: others },
    });
    await expect(sent).rejects.toThrow(InputError);
    await expect(sent).rejects.toThrow(`a callback waits for at most ${MAX_PARENTS} jobs`);
    await using r = await rawRedis();
    const waiting = await overShards(q, async (k) =>
      Number(await r.sendCommand(["ZCARD", k.children])),
    );
    expect(waiting).toBe(0);
  });

  test("trigger's batch: past the bound (distinct ids) it throws, after the ids were kept", () => {
    const b = new BatchIds(3);
    b.add([
      { id: "a", line: 1 },
      { id: "b", line: 2 },
      { id: "a", line: 3 }, // the same URL again (--id-from-url): one job
    ]);
    b.add([{ id: "c", line: 4 }]);
    b.check();
    b.add([{ id: "d", line: 5 }]);
    expect(() => b.check()).toThrow(
      "a batch holds at most 3 jobs: stopped after line 5, the 4 jobs enqueued run without a callback",
    );
    expect(b.ids).toEqual(["a", "b", "a", "c", "d"]);
  });
});

describe("--skip with a batch", () => {
  test("says the callback covers the lines after it only", async () => {
    const prefix = testPrefix();
    const urls = "https://example.org/a\nhttps://example.org/b\nhttps://example.org/c\n";
    const r = await runCli(
      "trigger",
      ["--prefix", prefix, "--file", "-", "--summary", "--id-from-url", "--skip", "1"],
      { stdin: urls },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "trigger: --skip 1: the batch and its callback cover the lines after 1 only; run without --skip",
    );
    expect(r.stderr).toContain("runs once all 2 jobs have ended");
  });
});
