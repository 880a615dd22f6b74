// A counter field that is not an integer (a hand edit, a bug elsewhere) never fails the script
// that adds to it after its first write (include/counters.lua add_count): a hold batch would
// leave the jobs before the bad one both delayed and pending (run twice), an enqueue with
// parents its child's record written and the call failed. Against the test Redis.
import { describe, expect, test } from "bun:test";
import { holdEntries } from "../lib/engine/hold.ts";
import { GROUP } from "../lib/engine/keys.ts";
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
