// A wait for jobs the same Queue has just enqueued starts its blocking read of the events from
// the cursor their enqueue read (lib/engine/lua/enqueue.lua, lib/queue/recent.ts): no first look
// (the cursor read and the status script) at jobs that cannot have ended before their enqueue.
// Any other wait looks first, as before; either way a result recorded before the wait started
// is seen.
import { describe, expect, test } from "bun:test";
import { enqueueBatch, prepareBatch } from "../lib/engine/enqueue.ts";
import { waitForJobs } from "../lib/queue/wait.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { asClient, runJob } from "./fixtures/engine.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { finishedByAnotherQueue } from "./fixtures/waits.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

/** Records the first word of every command `client` sends from now on, and each reply. */
function spy(client: Redis): { sent: string[]; replies: unknown[] } {
  const seen = { sent: [] as string[], replies: [] as unknown[] };
  const send = client.sendCommand.bind(client);
  client.sendCommand = (async (args: readonly string[], ...rest: unknown[]) => {
    seen.sent.push(String(args[0]));
    // biome-ignore lint/suspicious/noExplicitAny: passes node-redis' own arguments through
    const reply = await (send as any)(args, ...rest);
    seen.replies.push(reply);
    return reply;
  }) as typeof client.sendCommand;
  return seen;
}

describe("a wait for jobs this Queue just enqueued", () => {
  test("sends nothing before its blocking read (no first look) and wakes on the finish", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2);
    const { sent } = spy(q.client);
    const waited = q.waitForJobs([id], { timeoutMs: 10_000 });
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
    const { ended, pending } = await waited;
    expect(pending).toEqual([]);
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4, payload: 2 });
    expect(sent).toEqual([]); // the look would be XREVRANGE and the status script, here
  });

  test("a second wait for the same job looks first (each cursor is used once)", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2);
    const first = q.waitForJobs([id], { timeoutMs: 10_000 });
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
    await first;
    const { sent } = spy(q.client);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4 });
    expect(sent).toContain("XREVRANGE");
  });
});

describe("any other wait looks first", () => {
  test("a job another Queue enqueued, ended before the wait: read in the look", async () => {
    await using job = await finishedByAnotherQueue();
    const { q, id } = job;
    const { sent } = spy(q.client);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 4 });
    expect(sent.slice(0, 2)).toEqual(["XREVRANGE", "EVALSHA"]);
  });

  test("a job with a caller id (its outcome may be older than its marker): the wait looks first", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2, { id: "order-1" });
    const { sent } = spy(q.client);
    const waited = q.waitForJobs([id], { timeoutMs: 10_000 });
    await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
    expect((await waited).ended.get(id)).toMatchObject({ status: "finished", result: 4 });
    expect(sent.slice(0, 2)).toEqual(["XREVRANGE", "EVALSHA"]);
  });
});

describe("waitForJobs from an enqueue's cursor", () => {
  test("a result recorded before the wait started comes with its first blocking read", async () => {
    await using r = await rawRedis();
    const client = await connect(redisUrl());
    const blocking = await connect(redisUrl(), { blocking: true });
    try {
      await using q = await openQueue({ prefix: testPrefix() });
      await runJob(asClient(r), q.keys, []); // the group, as a worker makes it
      const batch = prepareBatch([{ task: "t", payload: "2", maxAttempts: 1 }]);
      const { jobs, eventsCursor } = await enqueueBatch(client, q.keys, batch);
      const id = jobs[0]!.id;
      await runJob(asClient(r), keysOf(q, id), [{ worker: "w1", result: "4" }]);
      const reads = spy(blocking);
      const opts = { timeoutMs: 10_000 };
      const { ended } = await waitForJobs(client, blocking, q.keys, [id], opts, eventsCursor);
      expect(ended.get(id)).toMatchObject({ status: "finished", result: 4 });
      // The XREAD returned the finish's event at once (a cursor past it would have timed out).
      expect(reads.sent[0]).toBe("XREAD");
      expect(JSON.stringify(reads.replies[0])).toContain(id);
    } finally {
      client.destroy();
      blocking.destroy();
    }
  });
});
