// A key rate change wakes each held key's jobs once, from a snapshot (docs/internals.md, "Rate
// limits"; rate-held.lua): the wake keeps its place by key name and score, so a listing that
// leaves limit:keys between pages never makes it skip a key; jobs held again meanwhile go to a
// fresh set it leaves alone; a wake stopped between pages leaves a copy the next one finishes.
import { expect, test } from "bun:test";
import { limitKeys } from "../lib/engine/keys.ts";
import { reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { type HeldPlace, takeRateHeld, wakeStart } from "../lib/engine/rate-held.ts";
import { type EngineQueue, engineQueue, redisNow } from "./fixtures/plant.ts";

type LK = ReturnType<typeof limitKeys>;

/** Key `key` listed at `score`, holding `n` jobs of shard 0 due a second apart from `t0`. */
async function held(v: EngineQueue, lk: LK, key: string, n: number, t0: number, score: number) {
  await v.r.sendCommand(["ZADD", lk.keys, String(score), key]);
  const members = Array.from({ length: n }, (_, i) => [String(t0 + 1000 * i), `0|${key}-${i}`]);
  await v.r.sendCommand(["ZADD", lk.rateHeld(key), ...members.flat()]);
  await v.r.sendCommand(["HSET", `${lk.keyPrefix}${key}`, "hold_next", String(t0 + 1000 * n)]);
}

/** The rest of a wake from `at`, 10 members a call; `each` runs after every page. */
async function finish(
  v: EngineQueue,
  lk: LK,
  at: HeldPlace | null,
  each?: (m: string[]) => Promise<void>,
) {
  const named: string[] = [];
  for (let calls = 0; at && calls < 100; calls++) {
    const page = await takeRateHeld(v.client, lk, at, 200, 10);
    named.push(...page.members);
    at = page.next;
    await each?.(page.members);
  }
  expect(at).toBeNull();
  return named;
}

const all = (key: string, n: number) => Array.from({ length: n }, (_, i) => `0|${key}-${i}`);

async function setup() {
  const v = await engineQueue();
  const prefix = v.k.meta.slice(0, v.k.meta.indexOf(":{"));
  return { v, prefix, lk: limitKeys(prefix, "q"), now: await redisNow(v) };
}

test("a listing that leaves limit:keys between pages never makes the wake skip a key", async () => {
  const { v, prefix, lk, now } = await setup();
  await using _ = v;
  // `busy` is listed by a hold that has just ended; `k` holds 25 jobs far off.
  await v.r.sendCommand(["ZADD", lk.keys, String(now - 1), "busy"]);
  await held(v, lk, "k", 25, now + 600_000, now + 625_000);
  const first = await takeRateHeld(v.client, lk, wakeStart(), 200, 10);
  // Any worker's limit.lua call drops the ended listing.
  await writeLimits(v.client, prefix, "q", { rate: { count: 1000, perMs: 1000 } });
  await reserveSlots(v.client, lk, { horizonMs: 1000, shard: 0 }, [{ jobId: "x", slotMs: 1000 }]);
  expect(await v.r.sendCommand(["ZSCORE", lk.keys, "busy"])).toBeNull();
  const named = [...first.members, ...(await finish(v, lk, first.next))];
  expect(named.sort()).toEqual(all("k", 25).sort());
});

test("jobs held again during the wake are not woken by it: each job once", async () => {
  const { v, prefix, lk, now } = await setup();
  await using _ = v;
  // The new key rate: 1 per 10 s; the key's next slot (tat) stays where the old one put it.
  await writeLimits(v.client, prefix, "q", { keyRate: { count: 1, perMs: 10_000 } });
  const t0 = now + 600_000;
  await held(v, lk, "k", 30, t0, t0 + 30_000);
  await held(v, lk, "j", 12, t0, t0 + 40_000);
  await v.r.sendCommand(["HSET", `${lk.keyPrefix}k`, "tat", String(t0)]);
  await v.r.sendCommand(["HSET", `${lk.keyPrefix}j`, "tat", String(t0)]);
  const named = await finish(v, lk, wakeStart(), async (members) => {
    // Each woken job comes back and asks the limiter: held again by the key's rate, and `k`'s
    // listing moves past `j`'s.
    const asks = members.map((m) => ({ jobId: m.slice(2), limitKey: m[2]!, slotMs: 1000 }));
    const got = await reserveSlots(v.client, lk, { horizonMs: 1000, shard: 0 }, asks);
    expect(got.every((g) => g.kind === "hold")).toBe(true);
  });
  expect(named.sort()).toEqual([...all("k", 30), ...all("j", 12)].sort());
  // The holds made meanwhile wait in the fresh set, for their due times or the next wake.
  expect(await v.r.sendCommand(["ZCARD", lk.rateHeld("k")])).toBe(30);
  expect(await v.r.sendCommand(["ZCARD", lk.rateHeld("j")])).toBe(12);
});

test("a wake stopped between pages leaves its copy: the next wake names it and the new holds", async () => {
  const { v, lk, now } = await setup();
  await using _ = v;
  await held(v, lk, "k", 25, now + 600_000, now + 625_000);
  const first = await takeRateHeld(v.client, lk, wakeStart(), 200, 10);
  expect(first.members).toHaveLength(10);
  // Its caller dies here; a job is held again meanwhile.
  await v.r.sendCommand(["ZADD", lk.rateHeld("k"), String(now + 700_000), "0|k-new"]);
  await v.r.sendCommand(["PEXPIRE", lk.rateHeld("k"), "800000"]);
  const named = await finish(v, lk, wakeStart());
  expect(named.sort()).toEqual([...all("k", 25).slice(10), "0|k-new"].sort());
  expect(await v.r.sendCommand(["EXISTS", lk.rateWaking("k"), lk.rateHeld("k")])).toBe(0);
});

test("keys of one score: the place key leaving the list neither skips nor repeats one", async () => {
  const { v, lk, now } = await setup();
  await using _ = v;
  for (const key of ["a", "b", "c", "d"]) await held(v, lk, key, 6, now + 600_000, now + 900_000);
  const named: string[] = [];
  let at: HeldPlace | null = wakeStart();
  for (let calls = 0; at && calls < 100; calls++) {
    const page = await takeRateHeld(v.client, lk, at, 200, 4);
    named.push(...page.members);
    at = page.next;
    if (at) await v.r.sendCommand(["ZREM", lk.keys, at.key]);
  }
  expect(at).toBeNull();
  expect(named.sort()).toEqual(["a", "b", "c", "d"].flatMap((k) => all(k, 6)).sort());
});
