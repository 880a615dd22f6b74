// MemoryWatch's start budget, without Redis: how many jobs a worker may start per read of
// INFO memory (what bounds how far it takes a full Redis past maxmemory), and when it starts
// none past the headroom (a result or a retry took memory) or goes on (failures free it).
import { describe, expect, test } from "bun:test";
import { silentLogger } from "../lib/log.ts";
import { MemoryWatch, type RedisMemory, STARTS_PER_READ } from "../lib/redis/memory.ts";

const MB = 1024 * 1024;
const at = (usedBytes: number, maxBytes = 8 * MB): RedisMemory => ({
  usedBytes,
  maxBytes,
  policy: "noeviction",
  full: maxBytes > 0 && usedBytes >= maxBytes,
});

function watch(headroomPct = 10) {
  const w = new MemoryWatch(silentLogger, () => 0, headroomPct);
  let reads = 0;
  w.onReadNeeded = () => reads++;
  return { w, reads: () => reads };
}

describe("MemoryWatch's start budget", () => {
  test.each([
    ["no maxmemory: no limit", at(100 * MB, 0), 1_000_000],
    ["4 MB of room up to the headroom", at(8.8 * MB - 4 * MB), 1_024],
    ["close to the limit: the floor", at(8.8 * MB - 10_000), STARTS_PER_READ],
    ["past maxmemory, within the headroom", at(8.5 * MB), 76],
  ] as const)("%s", (_, m, starts) => {
    const { w, reads } = watch();
    w.observe(m);
    expect(w.take(1_000_000)).toBe(starts);
    expect(reads()).toBe(m.maxBytes === 0 ? 0 : 1);
  });

  test("taken in parts, the budget ends, and a read renews it", () => {
    const { w, reads } = watch();
    w.observe(at(8.8 * MB - 40 * 4_096));
    expect(w.take(30)).toBe(30);
    expect(w.take(30)).toBe(10);
    expect(reads()).toBe(1);
    expect(w.take(30)).toBe(0);
    w.observe(at(8.8 * MB - 40 * 4_096));
    expect(w.take(30)).toBe(30);
  });

  test("past the headroom: starts while outcomes free memory, none once one takes it", () => {
    const { w } = watch();
    w.observe(at(10 * MB));
    expect(w.paused).toBe(false);
    expect(w.take(64)).toBe(STARTS_PER_READ);
    w.outcomeWritten(false); // outcomes that take nothing (a duplicate run's, left alone)
    w.observe(at(9.9 * MB));
    expect(w.take(64)).toBe(STARTS_PER_READ);
    w.outcomeWritten(true); // a result
    expect(w.paused).toBe(true);
    expect(w.take(64)).toBe(0);
    expect(w.reason()).toEndWith("; starting no new jobs until it has room");
    w.outcomeWritten(false);
    w.observe(at(9.8 * MB)); // still past the limit: still none
    expect(w.take(64)).toBe(0);
    w.observe(at(8 * MB)); // room again (results expired): what was written is forgotten
    expect(w.take(64)).toBe(64);
    w.observe(at(10 * MB));
    expect(w.take(64)).toBe(STARTS_PER_READ);
  });

  test("a result written before Redis went past the limit counts too", () => {
    const { w } = watch();
    w.observe(at(8.7 * MB));
    w.outcomeWritten(true);
    w.observe(at(8.9 * MB));
    expect(w.take(64)).toBe(0);
  });

  test("headroom 0: nothing new starts past maxmemory", () => {
    const { w } = watch(0);
    w.observe(at(8 * MB + 1));
    expect(w.paused).toBe(true);
    expect(w.take(64)).toBe(0);
  });
});
