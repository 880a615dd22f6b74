// The limiter's gaps (docs/internals.md, "Rate limits"; limit.lua): free queue slots left
// behind, `limit:gaps`. The set may hold a range per job decided within the horizon, so a
// call never reads it whole: under a hostile set of 20,000 ranges (and 500 past ones) every
// read of it in the call names at most one member, those past are gone, and the slots given
// are the earliest free ones, as a walk through every range gives them. Against the real Redis
// of tests/preload.ts (MONITOR on the server holding the queue's tag).
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { engineQueue, redisNow } from "./fixtures/plant.ts";
import { nodeUrlOf, until } from "./helpers.ts";

type Monitored = Redis & { monitor: (listener: (line: string) => void) => Promise<void> };

/** `[from, to]` ranges as limit.lua writes them (scored by from). */
function ranges(list: [number, number][]): string[] {
  return list.flatMap(([a, b]) => [a.toFixed(3), `${a.toFixed(3)}|${b.toFixed(3)}`]);
}

test("many gaps: each read of the set names one member, and the slots are the earliest free", async () => {
  await using v = await engineQueue();
  const prefix = v.k.meta.slice(0, v.k.meta.indexOf(":{"));
  const lk = limitKeys(prefix, "q");
  await writeLimits(v.client, prefix, "q", { rate: { count: 1000, perMs: 1000 } }); // 1.02 ms apart
  const now = await redisNow(v);
  const t0 = now + 10_000;
  const future = Array.from({ length: 20_000 }, (_, i) => [t0 + 10 * i, t0 + 10 * i + 2]);
  const past = Array.from({ length: 500 }, (_, i) => [
    now - 100_000 + 10 * i,
    now - 99_998 + 10 * i,
  ]);
  const all = ranges([...past, ...future] as [number, number][]);
  for (let at = 0; at < all.length; at += 2_000) {
    await v.r.sendCommand(["ZADD", lk.gaps, ...all.slice(at, at + 2_000)]);
  }
  // The queue's tail far off: every slot given comes from a gap.
  await v.r.sendCommand(["SET", lk.rate, String(now + 600_000)]);
  const m = (await connect(await nodeUrlOf(lk.gaps))) as Monitored;
  const reads: string[] = [];
  const marker = `${lk.gaps}:done`; // the same slot: the monitored server
  let done = false;
  await m.monitor((line) => {
    if (line.includes(marker)) done = true;
    else if (/ \[\d+ lua\] /.test(line) && line.includes(`"${lk.gaps}"`)) reads.push(line);
  });
  try {
    const ask = (jobId: string) => ({ jobId, slotMs: 60_000 });
    const o = { horizonMs: 1_000_000, shard: 0 };
    const before = await redisNow(v);
    const got = await reserveSlots(v.client, lk, o, [ask("a"), ask("b"), ask("c")]);
    const after = await redisNow(v);
    await v.r.sendCommand(["EXISTS", marker]);
    await until(() => done, "the call's commands seen");
    // a at t0, b one spacing later in what is left of the first range, c at the second's start.
    const inMs = got.map((g) => (g.kind === "start" ? g.inMs : Number.NaN));
    expect(inMs[0]).toBeGreaterThanOrEqual(t0 - after - 1);
    expect(inMs[0]).toBeLessThanOrEqual(t0 - before);
    expect(inMs[1]! - inMs[0]!).toBeCloseTo(1.02, 3);
    expect(inMs[2]! - inMs[0]!).toBeCloseTo(10, 3);
  } finally {
    m.destroy();
  }
  const ranged = reads.filter((l) => /"Z(REV)?RANGE/i.test(l));
  expect(ranged.length).toBeGreaterThan(0);
  for (const line of ranged) expect(line).toMatch(/"LIMIT" "0" "1"$/);
  // The past ones are gone; of the future ones, the first was used up and the second cut.
  expect(await v.r.sendCommand(["ZCOUNT", lk.gaps, "-inf", String(now)])).toBe(0);
  expect(await v.r.sendCommand(["ZCARD", lk.gaps])).toBe(19_999);
});

test("a gap that began before now and ends after it gives its slot now; the ended one before it goes", async () => {
  await using v = await engineQueue();
  const prefix = v.k.meta.slice(0, v.k.meta.indexOf(":{"));
  const lk = limitKeys(prefix, "q");
  await writeLimits(v.client, prefix, "q", { rate: { count: 1000, perMs: 1000 } });
  const now = await redisNow(v);
  const gaps = ranges([
    [now - 200, now - 100],
    [now - 50, now + 60_000],
  ]);
  await v.r.sendCommand(["ZADD", lk.gaps, ...gaps]);
  await v.r.sendCommand(["SET", lk.rate, String(now + 600_000)]);
  const o = { horizonMs: 1000, shard: 0 };
  const got = await reserveSlots(v.client, lk, o, [{ jobId: "a", slotMs: 60_000 }]);
  expect(got[0]).toMatchObject({ kind: "start", inMs: 0 });
  const left = (await v.r.sendCommand(["ZRANGE", lk.gaps, "0", "-1"])) as string[];
  expect(left).toHaveLength(1);
  expect(Number(left[0]!.split("|")[0])).toBeGreaterThan(now);
  expect(Number(left[0]!.split("|")[1])).toBe(now + 60_000);
});
