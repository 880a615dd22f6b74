// The limiter's gaps (docs/internals.md, "Rate limits"; limit.lua gap_near): a member of
// `limit:gaps` that is not a range (a hand edit) is dropped and the next looked at, however
// many come in a row: the free range after them still gives its slot.
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { engineQueue, redisNow } from "./fixtures/plant.ts";

test("150 members in a row that are not ranges: all dropped, the range after them used", async () => {
  await using v = await engineQueue();
  const prefix = v.k.meta.slice(0, v.k.meta.indexOf(":{"));
  const lk = limitKeys(prefix, "q");
  await writeLimits(v.client, prefix, "q", { rate: { count: 10, perMs: 1000 } });
  const now = await redisNow(v);
  const junk = Array.from({ length: 150 }, (_, i) => [String(now + 1000 + i), `junk${i}`]);
  const free = `${(now + 5000).toFixed(3)}|${(now + 9000).toFixed(3)}`;
  await v.r.sendCommand(["ZADD", lk.gaps, ...junk.flat(), (now + 5000).toFixed(3), free]);
  // The queue's next slot at the tail is far off: only the free range gives one in the horizon.
  await v.r.sendCommand(["SET", lk.rate, String(now + 600_000)]);
  const o = { horizonMs: 10_000, shard: 0 };
  const got = await reserveSlots(v.client, lk, o, [{ jobId: "a", slotMs: 60_000 }]);
  expect(got[0]?.kind).toBe("start");
  const left = (await v.r.sendCommand(["ZRANGE", lk.gaps, "0", "-1"])) as string[];
  expect(left.filter((m) => m.startsWith("junk"))).toEqual([]);
});
