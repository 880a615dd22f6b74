// fail.lua's rerun (run_again): on a full Redis a failed attempt that will be retried runs
// again at once on its worker, which holds the slot. Its entry stays pending there with the
// delivery count of the next attempt; nothing is written that takes memory (no record, no
// delayed entry, no event, no history), so a queue whose every job fails keeps Redis level and
// drains (README, "Redis memory"). A throwaway redis-server, full: SET is refused throughout.
import { afterEach, describe, expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { releaseAll } from "../lib/engine/release.ts";
import {
  deadLetters,
  deliver,
  type EngineQueue,
  engineQueue,
  failedAttempt,
  hgetall,
  pendingRow,
  plant,
  streamEntries,
} from "./fixtures/plant.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";

let small: SmallRedis | null = null;
afterEach(async () => {
  await small?.stop();
  small = null;
});

const OPTS = { consumer: "w1", failureTtlS: null, deadMaxLen: 1000, eventsMaxLen: 1000 };

/** A full Redis holding `n` entries (max attempts 3) delivered to w1. */
async function fullWith(n: number): Promise<{ v: EngineQueue; entries: string[] }> {
  small = await startSmallRedis(0);
  const v = await engineQueue(small.redis);
  const entries: string[] = [];
  for (let i = 0; i < n; i++) entries.push(await plant(v, { p: `"${"x".repeat(100)}${i}"` }));
  await deliver(v, "w1", n);
  // The counters a first call creates, so that what the reruns take is seen alone.
  await v.r.sendCommand(["HSET", v.k.stats, "retried", "0", "started", "0"]);
  await small.capBelowUsed();
  return { v, entries };
}

const refused = (v: EngineQueue) =>
  expect(v.r.sendCommand(["SET", "probe", "x"])).rejects.toThrow(/^OOM /);

/**
 * What a rerun might write to: the keys there are, and each one's size. The per-minute counts
 * aside (one field a minute, not per job).
 */
async function footprint(v: EngineQueue) {
  const keys = [v.k.stream, v.k.stats, v.k.delayed, v.k.dead, v.k.events];
  const sizes = await Promise.all(
    keys.map((k) => v.r.sendCommand(["MEMORY", "USAGE", k, "SAMPLES", "0"])),
  );
  const all = Number(await v.r.sendCommand(["DBSIZE"]));
  return { keys: all - Number(await v.r.sendCommand(["EXISTS", v.k.minutes])), sizes };
}

describe("fail.lua rerun (Redis full)", () => {
  test("the entry stays pending here as the next attempt; nothing written that takes memory", async () => {
    const { v, entries } = await fullWith(50);
    const before = await footprint(v);
    const items = entries.map((e) => failedAttempt(e, { retryInMs: 1_000, rerunAfter: 1 }));
    const o = { ...OPTS, startedSince: 50 };
    expect(await failJobs(v.client, v.k, o, items)).toEqual(entries.map(() => "rerun"));
    for (const e of entries) expect(await pendingRow(v, e)).toEqual({ owner: "w1", deliveries: 2 });
    expect((await streamEntries(v)).map((e) => e.id)).toEqual(entries); // nothing acknowledged
    expect(await footprint(v)).toEqual(before); // no record, delayed entry, letter or event
    expect(await v.r.sendCommand(["EXISTS", v.k.recordPrefix + entries[0]])).toBe(0);
    expect(await hgetall(v, v.k.stats)).toMatchObject({ retried: "50", started: "50" });
    await refused(v);
  });

  test("sent again after a lost reply: the count is set again, nothing counted twice", async () => {
    const { v, entries } = await fullWith(1);
    const item = failedAttempt(entries[0]!, { retryInMs: 1_000, rerunAfter: 1 });
    const o = { ...OPTS, startedSince: 1 };
    expect(await failJobs(v.client, v.k, o, [item])).toEqual(["rerun"]);
    expect(await failJobs(v.client, v.k, o, [item])).toEqual(["rerun"]);
    expect(await pendingRow(v, entries[0]!)).toEqual({ owner: "w1", deliveries: 2 });
    expect(await hgetall(v, v.k.stats)).toMatchObject({ retried: "1", started: "1" });
  });

  test("attempts add up to the last one and its letter: reruns count as deliveries", async () => {
    const { v, entries } = await fullWith(1);
    const entry = entries[0]!;
    for (const attempt of [1, 2]) {
      const item = failedAttempt(entry, { retryInMs: 1_000, rerunAfter: attempt });
      expect(await failJobs(v.client, v.k, OPTS, [item])).toEqual(["rerun"]);
    }
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 3 });
    const last = failedAttempt(entry, { retryInMs: null });
    expect(await failJobs(v.client, v.k, OPTS, [last])).toEqual(["failed"]);
    const [[, letter]] = (await deadLetters(v)) as [[string, string[]]];
    expect(letter[letter.indexOf("attempts") + 1]).toBe("3");
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await streamEntries(v)).toEqual([]);
  });

  test("a worker that dies after a rerun: the claim counts the rerun's attempt", async () => {
    const { v, entries } = await fullWith(1);
    const item = failedAttempt(entries[0]!, { retryInMs: 1_000, rerunAfter: 1 });
    await failJobs(v.client, v.k, OPTS, [item]);
    const claim = { consumer: "w2", minIdleMs: 0, count: 10, failureTtlS: 0 };
    const reply = await claimLapsed(v.client, v.k, {
      ...claim,
      deadMaxLen: 1000,
      eventsMaxLen: 1000,
    });
    expect(reply.claimed.map((c) => [c.kind, "attempt" in c && c.attempt])).toEqual([["run", 3]]);
  });

  test("a worker that stops before the rerun ran: the release counts the failed attempt only", async () => {
    const { v, entries } = await fullWith(1);
    const item = failedAttempt(entries[0]!, { retryInMs: 1_000, rerunAfter: 1 });
    await failJobs(v.client, v.k, OPTS, [item]);
    expect(await releaseAll(v.client, v.k, "w1")).toBe(1);
    const [back] = await streamEntries(v);
    expect(back!.f).toMatchObject({ a: "1", i: entries[0]! });
  });

  test("a delivery count that is not the attempt's: the ordinary retry, through the delayed set", async () => {
    const { v, entries } = await fullWith(1);
    const entry = entries[0]!;
    // Delivered three times, while the worker says attempt 1 failed: not what a rerun expects.
    for (const _ of [1, 2])
      await v.r.sendCommand(["XCLAIM", v.k.stream, "workers", "w1", "0", entry]);
    const item = failedAttempt(entry, { retryInMs: 1_000, rerunAfter: 1 });
    expect(await failJobs(v.client, v.k, OPTS, [item])).toEqual(["retrying"]);
    expect(await v.r.sendCommand(["ZCARD", v.k.delayed])).toBe(1);
    expect(await pendingRow(v, entry)).toBeNull();
  });
});
