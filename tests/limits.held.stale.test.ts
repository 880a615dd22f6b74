// A key rate change's wake after one that stopped between pages (rate-held.lua; docs/internals.md,
// "Rate limits"): the stale copy it left names no job that came back on its own since (started
// or past its due time), is merged with the key's set a page per call before any of the key's
// jobs is named, and an older wake still going never revisits a key a newer one visited.
import { expect, test } from "bun:test";
import { failJobs } from "../lib/engine/fail.ts";
import { holdEntries, wakeJobs } from "../lib/engine/hold.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { type LimitVerdict, reserveSlots } from "../lib/engine/limit.ts";
import { writeLimits } from "../lib/engine/limits.ts";
import { type HeldPlace, takeRateHeld, wakeRateHeld, wakeStart } from "../lib/engine/rate-held.ts";
import { deliver, engineQueue, failedAttempt, redisNow, streamEntries } from "./fixtures/plant.ts";

type V = Awaited<ReturnType<typeof engineQueue>>;
const prefixOf = (v: V) => v.k.meta.slice(0, v.k.meta.indexOf(":{"));
const o = { horizonMs: 1000, shard: 0 };
const ask = (jobId: string) => ({ jobId, limitKey: "h", slotMs: 60_000 });
const due = (g: LimitVerdict | undefined) => (g as { dueMs: number }).dueMs;
const zcard = async (v: V, key: string) => Number(await v.r.sendCommand(["ZCARD", key]));

/** `n` members `0|<name>-<i>` due a second apart from `t0`, as ZADD arguments. */
const members = (name: string, n: number, t0: number) =>
  Array.from({ length: n }, (_, i) => [String(t0 + 1000 * i), `0|${name}-${i}`]).flat();

/** The rest of a wake from `at`, `most` members a call; `each` runs after every page. */
async function finish(
  v: V,
  at: HeldPlace | null,
  most: number,
  each?: (m: string[]) => Promise<void>,
) {
  const lk = limitKeys(prefixOf(v), "q");
  const named: string[] = [];
  for (let calls = 0; at && calls < 100; calls++) {
    const page = await takeRateHeld(v.client, lk, at, 200, most);
    named.push(...page.members);
    at = page.next;
    await each?.(page.members);
  }
  expect(at).toBeNull();
  return named;
}

test("a job that started leaves a stopped wake's copy: the next wake keeps its retry back-off", async () => {
  await using v = await engineQueue();
  const prefix = prefixOf(v);
  const lk = limitKeys(prefix, "q");
  await writeLimits(v.client, prefix, "q", { keyRate: { count: 1, perMs: 10_000 } });
  for (const id of ["A", "B", "C"]) {
    const f = ["t", "echo", "p", "1", "a", "0", "m", "3", "i", id, "k", "h"];
    await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]);
  }
  const [, eb, ec] = await deliver(v, "w1");
  const got = await reserveSlots(v.client, lk, o, ["A", "B", "C"].map(ask));
  expect(got.map((g) => g.kind)).toEqual(["start", "hold", "hold"]);
  const held = [
    { entryId: eb as string, dueMs: due(got[1]) },
    { entryId: ec as string, dueMs: due(got[2]) },
  ];
  expect(await holdEntries(v.client, v.k, "w1", held)).toEqual(["held", "held"]);
  // A wake takes its first page (B) and its caller dies.
  expect((await takeRateHeld(v.client, lk, wakeStart(), 200, 1)).members).toEqual(["0|B"]);
  // C comes back (early: a promote) and starts at its slot, then fails: an hour's back-off.
  await v.r.sendCommand(["HSET", lk.key("h"), "tat", String(await redisNow(v))]);
  expect((await wakeJobs(v.client, v.k, ["C"])).moved).toBe(1);
  await deliver(v, "w2");
  expect((await reserveSlots(v.client, lk, o, [ask("C")]))[0]?.kind).toBe("start");
  expect(await zcard(v, lk.rateWaking("h"))).toBe(0);
  const entry = (await streamEntries(v)).find((e) => e.f.i === "C")?.id as string;
  const fo = { consumer: "w2", failureTtlS: 3600, deadMaxLen: 100, eventsMaxLen: 100 };
  const failed = failedAttempt(entry, { id: "C", hasRecord: true, retryInMs: 3_600_000 });
  expect(await failJobs(v.client, v.k, fo, [failed])).toEqual(["retrying"]);
  const backoff = await v.r.sendCommand(["ZSCORE", v.k.delayed, "C"]);
  await writeLimits(v.client, prefix, "q", { keyRate: { count: 2, perMs: 10_000 } });
  expect((await wakeRateHeld(v.client, lk, [v.k])).moved).toBe(0);
  expect(await v.r.sendCommand(["ZSCORE", v.k.delayed, "C"])).toBe(backoff);
});

test("a stale copy's member past its due time is dropped unnamed (it came back on its own)", async () => {
  await using v = await engineQueue();
  const lk = limitKeys(prefixOf(v), "q");
  const now = await redisNow(v);
  await v.r.sendCommand(["ZADD", lk.keys, String(now + 600_000), "k"]);
  await v.r.sendCommand([
    "ZADD",
    lk.rateWaking("k"),
    String(now - 1),
    "0|old",
    String(now + 600_000),
    "0|new",
  ]);
  expect(await finish(v, wakeStart(), 10)).toEqual(["0|new"]);
  expect(await v.r.sendCommand(["EXISTS", lk.rateWaking("k")])).toBe(0);
});

test("a big stale copy and set: merged a page per call, each job named once, the re-held left", async () => {
  await using v = await engineQueue();
  const lk = limitKeys(prefixOf(v), "q");
  const t0 = (await redisNow(v)) + 600_000;
  for (const [key, copy, set] of [
    ["a", 30, 25],
    ["b", 12, 40],
  ] as const) {
    await v.r.sendCommand(["ZADD", lk.keys, String(t0 + 100_000), key]);
    await v.r.sendCommand(["ZADD", lk.rateWaking(key), ...members(`${key}-old`, copy, t0)]);
    await v.r.sendCommand(["ZADD", lk.rateHeld(key), ...members(`${key}-new`, set, t0 + 1)]);
  }
  // The first call adds a page of the smaller set into the larger one and names nothing.
  const first = await takeRateHeld(v.client, lk, wakeStart(), 200, 10);
  expect(first.members).toEqual([]);
  expect(first.next).toMatchObject({ key: "a", merging: true });
  expect([await zcard(v, lk.rateHeld("a")), await zcard(v, lk.rateWaking("a"))]).toEqual([15, 40]);
  // Every job named comes back and is held again, in the key's set, before the wake ends.
  const named = await finish(v, first.next, 10, async (page) => {
    const again = page.flatMap((m) => [String(t0 + 500_000), m]);
    if (again.length > 0)
      await v.r.sendCommand(["ZADD", lk.rateHeld(page[0]!.slice(2, 3)), ...again]);
  });
  const all = (key: string, copy: number, set: number) => [
    ...Array.from({ length: copy }, (_, i) => `0|${key}-old-${i}`),
    ...Array.from({ length: set }, (_, i) => `0|${key}-new-${i}`),
  ];
  expect(named.sort()).toEqual([...all("a", 30, 25), ...all("b", 12, 40)].sort());
  expect(await zcard(v, lk.rateHeld("a"))).toBe(55);
  expect(await zcard(v, lk.rateHeld("b"))).toBe(52);
});

test("a stale copy of another type is deleted: the key's set is named", async () => {
  await using v = await engineQueue();
  const lk = limitKeys(prefixOf(v), "q");
  const now = await redisNow(v);
  await v.r.sendCommand(["ZADD", lk.keys, String(now + 600_000), "k"]);
  await v.r.sendCommand(["SET", lk.rateWaking("k"), "junk"]);
  await v.r.sendCommand(["ZADD", lk.rateHeld("k"), String(now + 600_000), "0|j"]);
  expect(await finish(v, wakeStart(), 10)).toEqual(["0|j"]);
});

test("two wakes at once: the older never revisits a key the newer visited", async () => {
  await using v = await engineQueue();
  const lk = limitKeys(prefixOf(v), "q");
  const S = (await redisNow(v)) + 600_000;
  await v.r.sendCommand(["ZADD", lk.keys, String(S), "k"]);
  await v.r.sendCommand(["ZADD", lk.rateHeld("k"), ...members("k", 25, S - 25_000)]);
  await v.r.sendCommand(["HSET", lk.key("k"), "hold_next", String(S)]);
  const w1 = await takeRateHeld(v.client, lk, wakeStart(), 200, 10);
  expect(w1.members).toHaveLength(10);
  // A second rate change's wake runs to its end meanwhile (it finishes the shared copy).
  expect(await finish(v, wakeStart(), 10)).toHaveLength(15);
  // One of its jobs is held again under the newest rate; the key's listing rises.
  await v.r.sendCommand(["ZADD", lk.rateHeld("k"), String(S + 1000), "0|k-20"]);
  await v.r.sendCommand(["ZADD", lk.keys, String(S + 1000), "k"]);
  expect(await finish(v, w1.next, 10)).toEqual([]);
  expect(await zcard(v, lk.rateHeld("k"))).toBe(1);
});
