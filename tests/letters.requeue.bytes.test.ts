// `dead requeue --all` bounded by bytes (R92 finding 3): a letter holds its job's payload and
// requeue.lua copies it into the stream, so a page of letters is requeued in calls of at most
// a number of bytes, and pages are sized by the letters' size. `dead requeue ID…` likewise
// (h-102), its letters read a few at a time. The bound injected small here.
import { describe, expect, test } from "bun:test";
import { requeueDead } from "../lib/admin/dead-actions.ts";
import { findDeadEntry, SCAN_MOST } from "../lib/admin/dead-find.ts";
import {
  letterBytes,
  nextPageCount,
  PAGE_FIRST,
  PAGE_MOST,
  runsByBytes,
} from "../lib/admin/letter-runs.ts";
import { requeueAllLetters } from "../lib/admin/letters.ts";
import { QueueShards } from "../lib/admin/queue-shards.ts";
import { MOVE_BYTES } from "../lib/config.ts";
import { buryEntries } from "../lib/engine/bury.ts";
import { deadPages } from "../lib/engine/letters.ts";
import { scripts } from "../lib/engine/lua.ts";
import { deliver, type EngineQueue, engineQueue, plant } from "./fixtures/plant.ts";

const O = { consumer: "w1", failureTtlS: 900, deadMaxLen: 1000, eventsMaxLen: 1000 };

describe("runs and pages of letters", () => {
  test("runs weigh at most the bound, in order; a heavier letter alone", () => {
    const runs = runsByBytes([4, 4, 4, 1, 1, 20, 2, 9, 1], (n) => n, 10);
    expect(runs).toEqual([[4, 4], [4, 1, 1], [20], [2], [9, 1]]);
    expect(runsByBytes([], (n: number) => n, 10)).toEqual([]);
  });

  test("a page holds about the bound's worth of letters as large as the last page's", () => {
    expect(nextPageCount(16, 16 * 1_000, 10_000)).toBe(10);
    expect(nextPageCount(16, 16 * 10, 10_000)).toBe(PAGE_MOST); // small letters: the most
    expect(nextPageCount(4, 4 * 1_000_000, 10_000)).toBe(1); // letters over the bound: one a page
    expect(nextPageCount(0, 0, 10_000)).toBe(PAGE_MOST);
    expect(letterBytes(["t", "echo", "p", "ab"])).toBe(8);
  });
});

/** `n` dead letters, each with a `size`-byte payload (1,000); their jobs' ids. */
async function letters(v: EngineQueue, n: number, size = 1_000): Promise<string[]> {
  const entries = [];
  const p = JSON.stringify("x".repeat(size - 2));
  for (let i = 0; i < n; i++) entries.push(await plant(v, { p }));
  expect(await deliver(v, "w1", n)).toHaveLength(n);
  const burials = entries.map((entryId) => ({ entryId, id: entryId, problem: "boom" }));
  await buryEntries(v.client, v.k, O, burials);
  return entries;
}

/** The requeue calls (letters in each) and XRANGE counts sent on the engine's connection. */
function watch(v: EngineQueue) {
  const seen = {
    requeues: [] as number[],
    pages: [] as number[],
    scans: [] as number[],
    reading: 0,
    mostRead: 0,
  };
  const send = v.r.sendCommand.bind(v.r);
  v.r.sendCommand = (async (args: string[], ...rest: unknown[]) => {
    if (args[0] === "EVALSHA" && args[1] === scripts.requeue.sha) {
      const keys = Number(args[2]);
      seen.requeues.push((args.length - 3 - keys - 3) / 2); // ARGV: 3, then pairs
    }
    if (args[0] === "XRANGE") seen.pages.push(Number(args[5]));
    // A page of letters read up to its bytes (stream-page.lua): its count.
    const page = args[0] === "EVALSHA" && args[1] === scripts.streamPage.sha;
    if (page && args[4] === "XRANGE") seen.pages.push(Number(args[7]));
    if (page && args[4] === "XREVRANGE") seen.scans.push(Number(args[7]));
    // A letter found by id: its failed value read, then the letter (findDead).
    const letterRead = args[0] === "GET" && args[1]!.startsWith(v.k.resultPrefix);
    if (letterRead) seen.mostRead = Math.max(seen.mostRead, ++seen.reading);
    try {
      return await (send as (...a: unknown[]) => Promise<unknown>)(args, ...rest);
    } finally {
      if (letterRead) seen.reading--;
    }
  }) as typeof v.r.sendCommand;
  return seen;
}

describe("requeueAllLetters", () => {
  test("calls of at most the bound's bytes, pages sized by the letters; every letter once", async () => {
    await using v = await engineQueue();
    await letters(v, 40);
    const first = ["XRANGE", v.k.dead, "-", "+", "COUNT", "1"];
    const [letter] = (await v.r.sendCommand(first)) as [string, string[]][];
    const size = letterBytes(letter![1]);
    const seen = watch(v);
    // Two letters fit the bound, a third does not (all 40 are of one size, give or take a byte).
    const bytes = 2 * size + 10;
    expect((await requeueAllLetters(v.client, v.k, { maxAttempts: 3, bytes })).requeued).toBe(40);
    // The first page stops at the letter that reaches the bound (3 letters: calls of 2 and 1),
    // the next ones are sized to it (2 letters a page, a call each; the 37 left end with 1).
    expect(seen.requeues).toEqual([2, 1, ...Array<number>(18).fill(2), 1]);
    expect(seen.pages[0]).toBe(PAGE_FIRST);
    expect(seen.pages.slice(1)).toEqual(seen.pages.slice(1).map(() => 2)); // then about the bound
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(0);
    const ids = (await v.r.sendCommand(["XRANGE", v.k.stream, "-", "+"])) as [string, string[]][];
    const jobs = ids.map(([, f]) => f[f.indexOf("i") + 1]);
    expect(new Set(jobs).size).toBe(40);
  });
});

describe("requeueDead (ids given)", () => {
  test("calls of at most the bound's bytes, in the order given; letters read a few at a time", async () => {
    await using v = await engineQueue();
    const ids = (await letters(v, 40)).reverse();
    const prefix = v.k.stream.slice(0, v.k.stream.indexOf(":{"));
    const size = letterBytes(
      ((await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string, string[]][])[0]![1],
    );
    const seen = watch(v);
    const shards = new QueueShards(v.client, prefix, "q");
    const done = await requeueDead(shards, ids, { maxAttempts: 3, bytes: 2 * size + 10 });
    expect(done).toEqual(ids.map((id) => ({ id, verdict: "requeued" })));
    expect(seen.requeues).toEqual(ids.slice(0, 20).map(() => 2));
    expect(seen.mostRead).toBeGreaterThan(1); // read together,
    expect(seen.mostRead).toBeLessThanOrEqual(PAGE_FIRST); // a few at a time
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(0);
    const rows = (await v.r.sendCommand(["XRANGE", v.k.stream, "-", "+"])) as [string, string[]][];
    expect(rows.map(([, f]) => f[f.indexOf("i") + 1])).toEqual(ids);
  });
});

// R106 finding 4: an id whose failed value names no letter (expired, or no such job) had the
// dead stream read for it alone, 1,000 whole letters a page, 16 ids at once: 2,000 letters of
// 256 KB took 0.5 to 1.8 GB, and 16 unknown ids timed out. Now one look for every id of a call,
// PAGE_FIRST letters first, then about MOVE_BYTES of them (at most SCAN_MOST).
describe("dead letters found by a scan", () => {
  test("one look through the stream for every id of a call, pages bounded by count and bytes", async () => {
    await using v = await engineQueue();
    const ids = await letters(v, 40, 100_000);
    for (const id of ids.slice(0, 2)) await v.r.sendCommand(["DEL", v.k.result(id)]); // expired
    const prefix = v.k.stream.slice(0, v.k.stream.indexOf(":{"));
    const unknown = Array.from({ length: 16 }, (_, i) => `u${i}`);
    const seen = watch(v);
    const shards = new QueueShards(v.client, prefix, "q");
    const done = await requeueDead(shards, [...unknown, ids[0]!, ids[1]!], { maxAttempts: 3 });
    expect(done).toEqual([
      ...unknown.map((id) => ({ id, verdict: "missing" as const })),
      { id: ids[0]!, verdict: "requeued" as const },
      { id: ids[1]!, verdict: "requeued" as const },
    ]);
    // 40 letters of 100 KB, read once: 16, then 10 a page (1 MiB of them).
    expect(seen.scans).toEqual([PAGE_FIRST, 10, 10, 10]);
    expect(Math.max(...seen.scans)).toBeLessThanOrEqual(SCAN_MOST);
  });

  test("a page of big letters ends at its bytes, not only its count (deadPages)", async () => {
    await using v = await engineQueue();
    await letters(v, 12, 600_000); // 16 of them would be 9.6 MB in one reply
    const weights: number[] = [];
    for await (const page of deadPages(v.client, v.k.dead, PAGE_FIRST, () => PAGE_FIRST)) {
      weights.push(page.reduce((n, e) => n + letterBytes(e[1]), 0));
    }
    expect(weights.length).toBeGreaterThan(1); // cut by bytes, and read on past the cut
    // Each page at most MOVE_BYTES and the letter that crossed it.
    for (const w of weights) expect(w).toBeLessThan(MOVE_BYTES + 700_000);
  });

  test("small letters: pages of at most SCAN_MOST; a letter at the stream's end is found", async () => {
    await using v = await engineQueue();
    const ids = await letters(v, 120);
    await v.r.sendCommand(["DEL", v.k.result(ids[0]!)]);
    const seen = watch(v);
    const found = await findDeadEntry(v.client, v.k, ids[0]!);
    expect(found?.[1]).toContain(ids[0]);
    expect(seen.scans).toEqual([PAGE_FIRST, SCAN_MOST, SCAN_MOST, SCAN_MOST]);
    // The newest letter is in the first page: the look stops there.
    await v.r.sendCommand(["DEL", v.k.result(ids[119]!)]);
    seen.scans.length = 0;
    expect((await findDeadEntry(v.client, v.k, ids[119]!))?.[1]).toContain(ids[119]);
    expect(seen.scans).toEqual([PAGE_FIRST]);
  });
});
