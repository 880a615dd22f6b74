// A wait from an enqueue's cursor (no first look, lib/queue/recent.ts) for a job whose event is
// gone (trimmed or deleted unseen): a job that failed while Redis was full has no outcome value,
// only its dead letter, so the outcomes read behind each blocking read cannot see it. The wait
// looks once with the status script (which finds letters) after a blocking read that brings no
// event: the job is found then, not at the 10 s recheck. The blocking reads are cut to 20 ms
// here; the time limit is far past the first of them and far short of the recheck.
import { describe, expect, test } from "bun:test";
import { enqueueBatch, prepareBatch } from "../lib/engine/enqueue.ts";
import { waitForJobs } from "../lib/queue/wait.ts";
import { connect } from "../lib/redis/connect.ts";
import { asClient, freshQueue, killWaiting, runJob } from "./fixtures/engine.ts";
import { openQueue, pinShards, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

const OPTS = { timeoutMs: 5_000, blockMs: 20 };

describe("a wait from an enqueue's cursor, the job's event gone", () => {
  test("failed with a letter only (Redis was full), events deleted: read as failed from its letter", async () => {
    await using r = await rawRedis();
    const client = await connect(redisUrl());
    const blocking = await connect(redisUrl(), { blocking: true });
    try {
      const keys = await freshQueue(r);
      const batch = prepareBatch([{ task: "t", payload: "2", maxAttempts: 1 }]);
      const { jobs, eventsCursor } = await enqueueBatch(client, keys, batch);
      const id = jobs[0]!.id;
      expect(await killWaiting(asClient(r), keys, () => "gone for good", 0)).toBe(1);
      expect(await r.sendCommand(["EXISTS", keys.result(id)])).toBe(0); // a letter only
      await r.sendCommand(["DEL", keys.events]);
      const { ended, pending } = await waitForJobs(
        client,
        blocking,
        keys,
        [id],
        OPTS,
        eventsCursor,
      );
      expect(pending).toEqual([]);
      expect(ended.get(id)).toMatchObject({ status: "failed", error: "gone for good" });
    } finally {
      client.destroy();
      blocking.destroy();
    }
  });

  test("the same through a Queue that just enqueued it", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2, { maxAttempts: 1 });
    await killWaiting(asClient(r), q.keys, () => "gone for good", 0);
    await r.sendCommand(["DEL", q.keys.events]);
    const { ended, pending } = await q.waitForJobs([id], OPTS);
    expect(pending).toEqual([]);
    expect(ended.get(id)).toMatchObject({ status: "failed", error: "gone for good" });
  });

  test("finished, its event trimmed away: read behind the first blocking read", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2);
    await runJob(asClient(r), q.keys, [{ worker: "w1", result: "4" }]);
    await r.sendCommand(["XTRIM", q.keys.events, "MAXLEN", "0"]);
    const { ended, pending } = await q.waitForJobs([id], OPTS);
    expect(pending).toEqual([]);
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4 });
  });
});
