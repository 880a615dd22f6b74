// The stream and its group vanished under a running worker (a FLUSHALL, a restart without
// persistence): the worker recreates the group on NOGROUP and runs the jobs enqueued after
// (docs/internals.md, "Read").
import { describe, expect, test } from "bun:test";
import { defineTask } from "../lib/types.ts";
import { openQueue, rawRedis, startWorker, testPrefix } from "./helpers.ts";

describe("a vanished stream", () => {
  test("the group is recreated and new jobs run", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const ok = defineTask({ name: "ok", run: async (n: number) => n + 1 });
    const w = await startWorker({ prefix, tasks: [ok] });
    const first = await q.enqueue("ok", 1);
    expect((await q.waitForJobs([first], { timeoutMs: 5_000 })).ended.get(first)?.result).toBe(2);
    await r.sendCommand(["DEL", q.keys.stream]); // stream and group gone
    const second = await q.enqueue("ok", 2); // a new stream, without the group
    const { ended } = await q.waitForJobs([second], { timeoutMs: 10_000 });
    expect(ended.get(second)).toMatchObject({ status: "finished", result: 3, attempts: 1 });
    await w.stop();
  });
});
