// A requeue's fresh entry id (requeue.lua readd_after; docs/internals.md, "Fenced runs"): after
// the job's last entry, bounded by what Redis issued in the level stream the job was on, never
// by a record field. A corrupt record `e` must not push the normal stream's ids to the end (every
// later enqueue would fail, "no ids left"), and a high job whose record is gone (expired, or
// dropped by a failure on a full Redis) still comes back with a higher fence.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { levelKeys } from "../lib/engine/keys.ts";
import { PermanentError } from "../lib/errors.ts";
import { compareFences, fenceOf } from "../lib/fence/fence.ts";
import { defineTask } from "../lib/types.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisUrl, startWorker, testPrefix } from "./helpers.ts";

const MAX_ID = "18446744073709551615-18446744073709551614";
/** 2100-01-01: an id ahead of Redis' clock (an operator's XADD, a clock that went back). */
const AHEAD = "4102444800000";

/** A task that fails for good on its first run and finishes on the next; each run's fence. */
function oncePermanent() {
  const fences: string[] = [];
  const task = defineTask({
    name: "once",
    run: async (_: null, ctx) => {
      fences.push(ctx.fence);
      if (fences.length === 1) throw new PermanentError("first run fails for good");
      return "second time";
    },
  });
  return { task, fences };
}

/** A queue, a raw connection and an admin, for one test. */
async function setUp() {
  const prefix = testPrefix();
  const q = await openQueue({ prefix });
  const r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  const close = async () => {
    await admin.close();
    await r[Symbol.asyncDispose]();
    await q[Symbol.asyncDispose]();
  };
  return { prefix, q, r, admin, close };
}

describe("a requeue's entry id", () => {
  test("a corrupt record `e` is not trusted: the normal stream keeps its ids, later enqueues work", async () => {
    const { prefix, q, r, admin, close } = await setUp();
    try {
      const { task, fences } = oncePermanent();
      const id = "poison-1";
      await q.enqueue(task, null, { id, maxAttempts: 1 });
      const w = await startWorker({ prefix, tasks: [task] });
      expect((await q.waitForJobs([id], { timeoutMs: 10_000 })).ended.get(id)?.status).toBe(
        "failed",
      );
      await w.stop(0);
      const k = keysOf(q, id);
      await r.sendCommand(["HSET", k.record(id), "e", MAX_ID]);
      expect(await admin.requeue([id])).toEqual([{ id, verdict: "requeued" }]);
      const [entry] = (await r.sendCommand(["XRANGE", k.stream, "-", "+"])) as [string][];
      expect(entry![0].length).toBeLessThan(20); // Redis' clock, not the end of the id space
      const next = await q.enqueue(task, null, { id: "poison-2" }); // no "no ids left"
      expect(next).toBe("poison-2");
      const w2 = await startWorker({ prefix, tasks: [task] });
      const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(ended.get(id)?.status).toBe("finished");
      expect(compareFences(fences[1]!, fences[0]!)).toBe(1);
      await w2.stop(0);
    } finally {
      await close();
    }
  });

  for (const [what, change] of [
    ["its record deleted (a failure on a full Redis, or expired)", "DEL"],
    ["a corrupt `e` in its record", "HSET"],
  ] as const) {
    test(`a high job with ${what} comes back after its high entry: a higher fence`, async () => {
      const { prefix, q, r, admin, close } = await setUp();
      try {
        const { task, fences } = oncePermanent();
        const id = "fence-high-drop";
        const k = keysOf(q, id);
        const high = levelKeys(k, "high").stream;
        // The high stream's last id is ahead of Redis' clock; the entry that set it is deleted.
        await r.sendCommand(["XADD", high, `${AHEAD}-0`, "x", "1"]);
        await r.sendCommand(["XDEL", high, `${AHEAD}-0`]);
        await q.enqueue(task, null, { id, priority: "high", maxAttempts: 1 });
        const w = await startWorker({ prefix, tasks: [task] });
        const first = (await q.waitForJobs([id], { timeoutMs: 10_000 })).ended.get(id);
        expect(first?.status).toBe("failed");
        expect(fences[0]).toBe(fenceOf(`${AHEAD}-1`, 1));
        if (change === "DEL") await r.sendCommand(["DEL", k.record(id)]);
        else await r.sendCommand(["HSET", k.record(id), "e", MAX_ID]);
        expect(await admin.requeue([id])).toEqual([{ id, verdict: "requeued" }]);
        const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
        expect(ended.get(id)?.status).toBe("finished");
        expect(fences[1]).toBe(fenceOf(`${AHEAD}-2`, 1)); // the id just after the high one
        expect(compareFences(fences[1]!, fences[0]!)).toBe(1);
        expect(await q.enqueue(task, null, { id: "after" })).toBe("after");
        await w.stop(0);
      } finally {
        await close();
      }
    });
  }

  test("a normal job is not pulled after a high stream's ids ahead of the clock", async () => {
    const { prefix, q, r, admin, close } = await setUp();
    try {
      const { task, fences } = oncePermanent();
      const id = "fence-normal";
      const k = keysOf(q, id);
      await r.sendCommand(["XADD", levelKeys(k, "high").stream, `${AHEAD}-0`, "x", "1"]);
      await q.enqueue(task, null, { id, maxAttempts: 1 });
      const w = await startWorker({ prefix, tasks: [task] });
      expect((await q.waitForJobs([id], { timeoutMs: 10_000 })).ended.get(id)?.status).toBe(
        "failed",
      );
      expect(await admin.requeue([id])).toEqual([{ id, verdict: "requeued" }]);
      const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
      expect(ended.get(id)?.status).toBe("finished");
      expect(fences[1]!.length).toBe(fences[0]!.length); // Redis' clock, not 2100's
      expect(compareFences(fences[1]!, fences[0]!)).toBe(1);
      await w.stop(0);
    } finally {
      await close();
    }
  });
});
