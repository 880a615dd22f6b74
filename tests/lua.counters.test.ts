// A counter field that is not an integer (a hand edit, a bug elsewhere) never fails the script
// that adds to it after its first write (include/counters.lua add_count): a hold batch would
// leave the jobs before the bad one both delayed and pending (run twice), an enqueue with
// parents its child's record written and the call failed, a limiter call the slots it took for
// other keys unanswered. Against the test Redis.
import { describe, expect, test } from "bun:test";
import { holdEntries } from "../lib/engine/hold.ts";
import { GROUP, limitKeys } from "../lib/engine/keys.ts";
import { type LimitAsk, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { deliver, engineQueue, hgetall, redisNow } from "./fixtures/plant.ts";
import { openQueue, pinShards, testPrefix } from "./helpers.ts";

// The child test reads its shard's own stats key: one shard, on a cluster one slot.
pinShards(1);

describe("hold.lua and a record's limit_holds", () => {
  test("a job whose limit_holds is not an integer is held like the others, and no entry is left pending", async () => {
    await using v = await engineQueue();
    for (const id of ["j0", "j1", "j2"]) {
      const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", id, "k", "h"];
      await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
    }
    const entries = await deliver(v, "w1");
    await v.r.sendCommand(["HSET", v.k.record("j1"), "limit_holds", "x"]);
    const due = (await redisNow(v)) + 60_000;
    const held = entries.map((entryId) => ({ entryId, dueMs: due }));
    expect(await holdEntries(v.client, v.k, "w1", held)).toEqual(["held", "held", "held"]);
    // Each job once: in the delayed set, none of their entries still pending (read again).
    expect(await v.r.sendCommand(["ZRANGE", v.k.delayed, "0", "-1"])).toEqual(["j0", "j1", "j2"]);
    expect((await v.r.sendCommand(["XPENDING", v.k.stream, GROUP]))[0]).toBe(0);
    // The bad count starts again; the good ones count as ever.
    expect((await hgetall(v, v.k.record("j1"))).limit_holds).toBe("1");
    expect((await hgetall(v, v.k.record("j0"))).limit_holds).toBe("1");
  });
});

describe("child.lua and the stats' enqueued", () => {
  for (const bad of ["9223372036854775807", "x"]) {
    test(`an enqueue with parents goes on with enqueued at ${bad} (the count starts again)`, async () => {
      await using q = await openQueue({ prefix: testPrefix() });
      const parent = await q.enqueue("t", { n: 1 });
      await q.client.sendCommand(["HSET", q.keys.stats, "enqueued", bad]);
      const child = await q.enqueue("t", { n: 2 }, { id: "kid", dependsOn: [parent] });
      expect(child).toBe("kid");
      const rec = await q.client.sendCommand(["HMGET", q.keys.record("kid"), "status", "listed"]);
      expect(rec).toEqual(["waiting-for-parents", "1"]);
      expect(await q.client.sendCommand(["HGET", q.keys.stats, "enqueued"])).toBe("1");
    });
  }
});

describe("limit.lua and a key's waiting-list counter seq", () => {
  test("a seq that is not an integer fails no limiter call: the waiter's place starts again past the list's highest", async () => {
    await using v = await engineQueue();
    const prefix = v.k.meta.slice(0, v.k.meta.indexOf(":{"));
    await writeLimits(v.client, prefix, "q", { keyConcurrency: 1 });
    const lk = limitKeys(prefix, "q");
    const o = { horizonMs: 1000, shard: 0 };
    const ask = (jobId: string, limitKey: string): LimitAsk => ({
      jobId,
      limitKey,
      slotMs: 60_000,
    });
    expect((await reserveSlots(v.client, lk, o, [ask("A", "h")]))[0]!.kind).toBe("start");
    // Two waiters already (one woken: scored negative), then the counter spoilt.
    await v.r.sendCommand(["ZADD", lk.waiting("h"), "5", "0|X", "-7", "0|Y"]);
    await v.r.sendCommand(["HSET", lk.key("h"), "seq", "x"]);
    const got = await reserveSlots(v.client, lk, o, [
      ask("G", "g"),
      ask("W", "h"),
      ask("G2", "g2"),
    ]);
    expect(got.map((g) => g.kind)).toEqual(["start", "hold", "start"]);
    expect(await v.r.sendCommand(["ZSCORE", lk.waiting("h"), "0|W"])).toBe("8");
    expect(await v.r.sendCommand(["HGET", lk.key("h"), "seq"])).toBe("8");
  });
});
