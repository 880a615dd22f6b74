// One corrupt record on the rarer paths (a failure, a finish, a claim of a lapsed lease) is
// settled on its own: the jobs around it run, and nothing stays pending or is retried forever.
// The table of corruptions is in worker.corrupt.test.ts. (The engine has no start script, so no
// start Redis could refuse: docs/internals.md, "2. Read".)
import { describe, expect, test } from "bun:test";
import { entryFields } from "../lib/engine/entry.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { PermanentError } from "../lib/errors.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { CORRUPT, count, echo } from "./fixtures/corrupt.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import {
  deadLetterErrors,
  logRecorder,
  openQueue,
  pendingCount,
  type RawRedis,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

/** Entries pending in every shard's group. */
async function pending(r: RawRedis, q: Queue): Promise<number> {
  let n = 0;
  for (const k of shardsOf(q)) {
    n += await pendingCount(r, k);
  }
  return n;
}

/** The dead letters (job id → error) of job `id`'s shard. */
const deadLetters = (r: RawRedis, q: Queue, id: string) => deadLetterErrors(r, keysOf(q, id));

describe("corrupt records on the fail, finish and claim paths", () => {
  test("a permanent failure of a job whose record vanished is dead-lettered", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const vanish = defineTask({
      name: "vanish",
      run: async (_p: unknown, _s: AbortSignal, job: { id: string }) => {
        await r.sendCommand(["DEL", keysOf(q, job.id).record(job.id)]);
        throw new PermanentError("gave up");
      },
    });
    const id = await q.enqueue("vanish", 1, { id: "vanish-1" });
    const after = await Promise.all([1, 2, 3].map((n) => q.enqueue("echo", n)));
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [vanish, echo], concurrency: 1, logger: log });
    // Not waitForJobs for it: with its record gone while it runs, a caller id is unknown
    // (status null) until its failure is written.
    await until(async () => (await q.getJob(id))?.status === "failed", "the job failed", 5_000);
    const { ended } = await q.waitForJobs(after, { timeoutMs: 5_000 });
    expect(await q.getJob(id)).toMatchObject({ status: "failed", error: "gave up" });
    for (const a of after) expect(ended.get(a)?.status).toBe("finished");
    expect((await deadLetters(r, q, id)).get(id)).toBe("gave up");
    expect(await pending(r, q)).toBe(0);
    expect(count(log.events(), /redis command failed/)).toBe(0);
    await w.stop();
  });

  for (const outcome of ["finish", "fail"] as const) {
    test(`a ${outcome} of a job whose key became another type is acknowledged, not retried`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, maxAttempts: 1 });
      await using r = await rawRedis();
      const spoil = defineTask({
        name: "spoil",
        run: async (_p: unknown, _s: AbortSignal, job: { id: string }) => {
          // A finish meets its outcome key as a list; a failure, its record as a string.
          const k = keysOf(q, job.id);
          if (outcome === "finish") await r.sendCommand(["RPUSH", k.result(job.id), "x"]);
          else await r.sendCommand(["SET", k.record(job.id), "garbage"]);
          if (outcome === "fail") throw new PermanentError("gave up");
          return "done";
        },
      });
      const ids = [await q.enqueue("echo", 0), await q.enqueue("spoil", 1, { id: "spoil-1" })];
      const after = [await q.enqueue("echo", 2), await q.enqueue("echo", 3)];
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [spoil, echo], concurrency: 4, logger: log });
      const { ended } = await q.waitForJobs([ids[0]!, ...after], { timeoutMs: 5_000 });
      expect(ended.size).toBe(3);
      await until(async () => (await pending(r, q)) === 0, "nothing pending", 5_000);
      await until(() => log.events().some((e) => CORRUPT.test(e)), "a corrupt-record line", 5_000);
      expect(count(log.events(), /redis command failed/)).toBe(0);
      await w.stop();
    });
  }

  for (const [name, fields, end] of [
    ["has no payload", { p: null }, "buried"],
    ["names a record that is a string", { i: "stringy-1" }, "runs"],
  ] as const) {
    test(`a claimed entry that ${name} is settled; the jobs behind it run`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, maxAttempts: 2 });
      await using r = await rawRedis();
      // In the shard of its caller id; without one, in shard 0, as the job `<entry><suffix>`.
      const k = "i" in fields ? keysOf(q, fields.i) : q.keys;
      await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0", "MKSTREAM"]);
      const f = entryFields("echo", '"bad"', 2, "i" in fields ? { id: fields.i } : {});
      const spoilt = "p" in fields ? f.filter((_, i) => i !== 2 && i !== 3) : f;
      const entry = String(await r.sendCommand(["XADD", k.stream, "*", ...spoilt]));
      const id = "i" in fields ? fields.i : `${entry}${k.idSuffix}`;
      if ("i" in fields) await r.sendCommand(["SET", k.record(id), "garbage"]);
      // A consumer that died holding it.
      await r.sendCommand(
        ["XREADGROUP", "GROUP", GROUP, "ghost", "COUNT", "1"].concat(["STREAMS", k.stream, ">"]),
      );
      const after = await Promise.all([1, 2, 3].map((n) => q.enqueue("echo", n)));
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [echo], claimIdleMs: 100, logger: log });
      const { ended } = await q.waitForJobs(after, { timeoutMs: 5_000 });
      expect(ended.size).toBe(3);
      await until(async () => (await pending(r, q)) === 0, "nothing pending", 5_000);
      if (end === "buried") {
        await until(
          () => log.records.some((l) => CORRUPT.test(l.event)),
          "the entry reported as corrupt",
          5_000,
        );
        expect((await deadLetters(r, q, id)).get(id)).toMatch(CORRUPT);
      } else {
        // The entry carries the job: a spoilt record does not stop it.
        const { ended: it } = await q.waitForJobs([id], { timeoutMs: 5_000 });
        expect(it.get(id)).toMatchObject({ status: "finished", result: "bad", attempts: 2 });
      }
      expect(count(log.events(), /read failed|redis command failed/)).toBe(0);
      await w.stop();
    });
  }
});
