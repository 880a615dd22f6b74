// A key of another type where a wait reads: the events key (another program wrote a string
// there) makes Redis refuse every read of it, for good. The wait rejects with a
// RedisRefusedError that names the key (trigger --wait: one line, exit 6), instead of retrying
// until its time limit (for ever, with no limit). An outcome key of another type does not end
// the wait: the job is read from its dead letter (`corrupt record: …`), as `result` reads it.
import { describe, expect, test } from "bun:test";
import { RedisRefusedError } from "../lib/errors.ts";
import { asClient, killWaiting, runJob } from "./fixtures/engine.ts";
import { finishedByAnotherQueue } from "./fixtures/waits.ts";
import { openQueue, pinShards, type RawRedis, rawRedis, runCli, testPrefix } from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

async function retypeEvents(r: RawRedis, events: string) {
  if (await r.sendCommand(["EXISTS", events])) {
    await r.sendCommand(["RENAME", events, `${events}-moved`]);
  }
  await r.sendCommand(["SET", events, "junk"]);
}

const holdsString = (events: string) => `key ${events} holds a string, not a stream`;

describe("the events key holds a string", () => {
  test("a wait that looks first rejects with RedisRefusedError naming the key", async () => {
    await using job = await finishedByAnotherQueue();
    const { q, r, id } = job;
    await retypeEvents(r, q.keys.events);
    const waited = q.waitForJobs([id], { timeoutMs: 3_000 });
    await expect(waited).rejects.toBeInstanceOf(RedisRefusedError);
    await expect(waited).rejects.toThrow(holdsString(q.keys.events));
  });

  test("a wait from an enqueue's cursor (blocking reads only) rejects the same way", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const id = await q.enqueue("t", 2);
    await retypeEvents(r, q.keys.events);
    const waited = q.waitForJobs([id], { timeoutMs: 3_000 });
    await expect(waited).rejects.toThrow(holdsString(q.keys.events));
  });

  test("trigger --wait: one line naming the key, exit 6", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "q1" });
    await using r = await rawRedis();
    const args = ["--prefix", prefix, "--queue", "q1", "--id-from-url", "--url"];
    const url = "http://127.0.0.1:9/a";
    expect((await runCli("trigger", [...args, url])).code).toBe(0);
    await runJob(asClient(r), q.keys, [{ worker: "w1", result: '{"words":3}' }]);
    await retypeEvents(r, q.keys.events);
    const waited = await runCli("trigger", [...args, url, "--wait"], { timeoutMs: 10_000 });
    const lines = waited.stderr.trim().split("\n");
    expect(lines.at(-1)).toContain(holdsString(q.keys.events));
    expect(lines.at(-1)).toStartWith("trigger: Redis refused");
    expect(waited.code).toBe(6);
  });
});

test("an outcome key of another type: the wait reads the job as failed from its letter", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const id = await q.enqueue("t", 2, { maxAttempts: 1 });
  await r.sendCommand(["HSET", q.keys.result(id), "f", "v"]);
  await killWaiting(asClient(r), q.keys, () => "boom");
  const { ended, pending } = await q.waitForJobs([id], { timeoutMs: 5_000, blockMs: 20 });
  expect(pending).toEqual([]);
  expect(ended.get(id)).toMatchObject({ status: "failed" });
  expect(ended.get(id)?.error).toContain(`key ${q.keys.result(id)} holds a hash`);
});
