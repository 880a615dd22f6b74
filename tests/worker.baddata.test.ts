// Bad stream data must never stop a worker or strand an entry: it is acknowledged (or
// dead-lettered) with a logged reason, and the jobs behind it still run. (The entry
// carries the job, so "a record gone" no longer stops a job, and a duplicate entry runs; its
// finish loses to the first result, docs/internals.md, "2. Read".)
import { describe, expect, test } from "bun:test";
import { entryFields } from "../lib/engine/entry.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import {
  logRecorder,
  openQueue,
  type RawRedis,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

/** Entries in every shard's stream. */
async function streamLength(r: RawRedis, q: Queue): Promise<number> {
  let n = 0;
  for (const k of shardsOf(q)) {
    n += Number(await r.sendCommand(["XLEN", k.stream]));
  }
  return n;
}

const echo = defineTask({ name: "echo", run: async (p: unknown) => p });

describe("bad data", () => {
  test("an entry without a job is dead-lettered and deleted; the next job runs", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    await r.sendCommand(["XADD", q.keys.stream, "*", "garbage", "yes"]);
    const id = await q.enqueue("echo", 7);
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [echo], logger: log });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)?.result).toBe(7);
    expect(await streamLength(r, q)).toBe(0);
    expect(log.events()).toContain("corrupt record: dead-lettered");
    await w.stop();
  });

  test("a job whose record is gone still runs from its entry, and is acknowledged", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const gone = await q.enqueue("echo", 1, { id: "gone-1" });
    await r.sendCommand(["DEL", keysOf(q, gone).record(gone)]);
    const id = await q.enqueue("echo", 2);
    const w = await startWorker({ prefix, tasks: [echo] });
    // Not a wait for it: a caller id whose record is gone reads as unknown until its outcome is
    // written, and a wait that looks before then ends at once (more likely on 6 shards).
    await until(async () => (await q.getJob(gone))?.status === "finished", "gone-1 ran", 5_000);
    expect(await q.getJob(gone)).toMatchObject({ status: "finished", result: 1 });
    await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(await streamLength(r, q)).toBe(0);
    await w.stop();
  });

  test("a payload that is not JSON fails the job for good, with a clear error", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    // Shard 0's entry: its job id is the entry id and the shard's suffix (none on one shard).
    const entry = await r.sendCommand([
      "XADD",
      q.keys.stream,
      "*",
      ...entryFields("echo", "{not json", 3),
    ]);
    const id = `${entry}${q.keys.idSuffix}`;
    const w = await startWorker({ prefix, tasks: [echo] });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({
      status: "failed",
      attempts: 1,
      error: "payload is not valid JSON",
    });
    await w.stop();
  });

  test("a second entry for a finished job is acknowledged; the first result stays", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    let runs = 0;
    const once = defineTask({ name: "once", run: async () => ++runs });
    const w = await startWorker({ prefix, tasks: [once] });
    const id = await q.enqueue("once", null);
    await q.waitForJobs([id], { timeoutMs: 5_000 });
    const log = logRecorder();
    await w.stop();
    const { stream } = keysOf(q, id);
    await r.sendCommand(["XADD", stream, "*", ...entryFields("once", "null", 3, { id })]);
    const w2 = await startWorker({ prefix, tasks: [once], burst: true, logger: log });
    await w2.stopped;
    expect(runs).toBe(2); // nothing is read at start: the duplicate runs, and loses the finish
    expect(await q.getJob(id)).toMatchObject({ status: "finished", result: 1 });
    expect(log.events()).toContain("finished (duplicate run, first result kept)");
    expect(await streamLength(r, q)).toBe(0);
  });
});
