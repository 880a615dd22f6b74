// hold.lua and a due time that is no finite number: the limiter answers NaN for a key whose
// hash holds `held_until 1e400` (a hand edit; Lua writes it `inf`, which JavaScript does not
// read), and a ZADD of it would raise half-way, leaving the jobs held before it both delayed and
// pending (run twice). Such a job is held a minute instead, the batch settled as ever; so is one
// due at a finite time past any a clock reaches (`held_until 9e30`), which was held for good.
import { expect, test } from "bun:test";
import { holdEntries } from "../lib/engine/hold.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { deliver, engineQueue, redisNow } from "./fixtures/plant.ts";

// 9e30: finite, but past any ms a clock reaches (and 2^53): the job would be held for good too.
for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 9e30]) {
  test(`a job due at ${bad} is held a minute; the jobs around it are held, none left pending`, async () => {
    await using v = await engineQueue();
    for (const id of ["j0", "j1", "j2"]) {
      const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", id, "k", "h"];
      await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
    }
    const [e0, e1, e2] = await deliver(v, "w1");
    const now = await redisNow(v);
    const held = [
      { entryId: e0!, dueMs: now + 600_000 },
      { entryId: e1!, dueMs: bad },
      { entryId: e2!, dueMs: now + 600_000 },
    ];
    expect(await holdEntries(v.client, v.k, "w1", held)).toEqual(["held", "held", "held"]);
    expect((await v.r.sendCommand(["XPENDING", v.k.stream, GROUP]))[0]).toBe(0);
    const due = Number(await v.r.sendCommand(["ZSCORE", v.k.delayed, "j1"]));
    expect(due).toBeGreaterThanOrEqual(now + 60_000);
    expect(due).toBeLessThan(now + 600_000);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(3);
  });
}
