// One corrupt record on the rarer paths (a failure, a finish, a claim of a lapsed lease, a start
// Redis refuses) is settled on its own: the jobs around it run, and nothing stays pending or is
// retried forever. The table of corruptions is in worker.corrupt.test.ts.
import { describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { CORRUPT, count, deadLetters, echo, pending } from "./fixtures/corrupt.ts";
import { logRecorder, openQueue, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

describe("corrupt records on the fail, finish and claim paths", () => {
  test("a permanent failure of a job whose payload vanished is dead-lettered", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const vanish = defineTask({
      name: "vanish",
      run: async (_p: unknown, _s: AbortSignal, job: { id: string }) => {
        await r.sendCommand(["HDEL", q.keys.job(job.id), "payload", "attempt", "max_attempts"]);
        throw new PermanentError("gave up");
      },
    });
    const id = await q.enqueue("vanish", 1);
    const after = await Promise.all([1, 2, 3].map((n) => q.enqueue("echo", n)));
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [vanish, echo], concurrency: 1, logger: log });
    const { ended } = await q.waitForJobs([id, ...after], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "failed", error: "gave up" });
    for (const a of after) expect(ended.get(a)?.status).toBe("finished");
    expect((await deadLetters(r, q)).get(id)).toBe("gave up");
    expect(await pending(r, q)).toBe(0);
    expect(count(log.events(), /redis command failed/)).toBe(0);
    await w.stop();
  });

  for (const outcome of ["finish", "fail"] as const) {
    test(`a ${outcome} of a job whose key became a string is acknowledged, not retried`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, maxAttempts: 1 });
      await using r = await rawRedis();
      const spoil = defineTask({
        name: "spoil",
        run: async (_p: unknown, _s: AbortSignal, job: { id: string }) => {
          await r.sendCommand(["SET", q.keys.job(job.id), "garbage"]);
          if (outcome === "fail") throw new PermanentError("gave up");
          return "done";
        },
      });
      const ids = [await q.enqueue("echo", 0), await q.enqueue("spoil", 1)];
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

  for (const [name, spoil] of [
    ["no payload, at its last attempt", ["HDEL", "payload"]],
    ["a string", ["SET", "garbage"]],
  ] as const) {
    test(`a claimed entry whose record is ${name} is settled; the jobs behind it run`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, maxAttempts: 2 });
      await using r = await rawRedis();
      const id = await q.enqueue("echo", "bad");
      await r.sendCommand(["XGROUP", "CREATE", q.keys.stream, GROUP, "0", "MKSTREAM"]);
      // A consumer that died holding it, after starting its last attempt.
      await r.sendCommand(
        ["XREADGROUP", "GROUP", GROUP, "ghost", "COUNT", "1"].concat([
          "STREAMS",
          q.keys.stream,
          ">",
        ]),
      );
      await r.sendCommand(["HSET", q.keys.job(id), "status", "started", "attempt", "2"]);
      if (spoil[0] === "SET") await r.sendCommand(["DEL", q.keys.job(id)]);
      await r.sendCommand([spoil[0], q.keys.job(id), spoil[1]]);
      const after = await Promise.all([1, 2, 3].map((n) => q.enqueue("echo", n)));
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [echo], claimIdleMs: 100, logger: log });
      const { ended } = await q.waitForJobs(after, { timeoutMs: 5_000 });
      expect(ended.size).toBe(3);
      await until(async () => (await pending(r, q)) === 0, "nothing pending", 5_000);
      await until(
        () =>
          log.records.some((l) => CORRUPT.test(l.event) || /corrupt/.test(String(l.fields.error))),
        "the record reported as corrupt",
        5_000,
      );
      if (spoil[0] === "HDEL") expect((await deadLetters(r, q)).get(id)).toMatch(CORRUPT);
      expect(count(log.events(), /read failed|redis command failed/)).toBe(0);
      await w.stop();
    });
  }
});

describe("a start Redis refuses over one entry", () => {
  test("only that entry is set aside (left pending, logged); the rest of its batch runs", async () => {
    // A start script that fails on one job, as a check the scripts lack would: the worker
    // must not retry the batch forever, nor lose the good jobs read with the bad one.
    const saved = { ...scripts.start };
    const source = saved.source.replace(
      "local function start(entry, id)\n",
      "local function start(entry, id)\n  if string.find(id, 'poison') then error('boom') end\n",
    );
    expect(source).not.toBe(saved.source);
    const sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
    Object.assign(scripts.start, { source, sha });
    try {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      await using r = await rawRedis();
      const good = [await q.enqueue("echo", 1)];
      await q.enqueueMany([{ task: "echo", payload: 2, id: "poison-1" }]);
      good.push(await q.enqueue("echo", 3), await q.enqueue("echo", 4));
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [echo], concurrency: 8, logger: log });
      const { ended } = await q.waitForJobs(good, { timeoutMs: 5_000 });
      expect(ended.size).toBe(3);
      // Its job has a record: acknowledging the entry would lose it. It stays pending, to be
      // claimed (and refused, and logged, again) after claimIdleMs.
      const aside = () => log.records.find((l) => l.fields.job === "poison-1");
      await until(() => aside() !== undefined, "the entry set aside", 5_000);
      expect(aside()?.event).toBe("start refused; entry left pending for a claim");
      expect(await pending(r, q)).toBe(1);
      expect(count(log.events(), /read failed/)).toBe(0);
      await w.stop();
    } finally {
      Object.assign(scripts.start, saved);
    }
  });
});
