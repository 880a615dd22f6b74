// Dead letters and the records they name: an operator's action on an old letter never touches
// a live job that reuses its id (its record expired, and the id, an idempotency key, came back).
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { oneShardFile, openQueue, rawRedis, redisUrl, startWorker, testPrefix } from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

describe("a letter whose id a live job reuses", () => {
  test("deleting the letter keeps the live job's record and entry", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const no = defineTask({
      name: "no",
      run: async () => {
        throw new PermanentError("no");
      },
    });
    const w = await startWorker({ prefix, tasks: [no] });
    await q.enqueue("no", null, { id: "reused" });
    expect(
      (await q.waitForJobs(["reused"], { timeoutMs: 5_000 })).ended.get("reused"),
    ).toMatchObject({ status: "failed" });
    await w.stop();
    await r.sendCommand(["DEL", q.keys.result("reused"), q.keys.record("reused")]); // expired
    const [again] = await q.enqueueMany([{ task: "no", id: "reused", payload: "second" }]);
    expect(again).toEqual({ id: "reused", created: true });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      expect(await admin.deleteDead(["reused"])).toEqual(["reused"]);
      expect((await admin.deadLetters()).total).toBe(0);
    } finally {
      await admin.close();
    }
    expect(await q.getJob("reused")).toMatchObject({ status: "queued", payload: "second" });
    expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(1);
  });
});
