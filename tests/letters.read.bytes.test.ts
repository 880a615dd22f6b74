// What listing jobs and dead letters reads, bounded whatever the payload's size (the G1
// review): `queue jobs --state waiting|running|dead` read whole entries and letters to print
// id, task, time and attempt (500 jobs of 1 MiB: 652 MB of RSS), a dead page read 16 letters
// before it weighed them (20 letters of 20 MB: 669 MB for one row), and `dead requeue --all`'s
// first page 16 as well. A spy counts the bytes of every reply on the connection.
import { describe, expect, test } from "bun:test";
import { deadFrom, requeueAllLetters } from "../lib/admin/letters.ts";
import { dead } from "../lib/admin/states/dead.ts";
import { running, waiting } from "../lib/admin/states/stream.ts";
import { deliver, type EngineQueue, engineQueue, plant } from "./fixtures/plant.ts";

const MB = 1_000_000;
const big = JSON.stringify("x".repeat(MB));

/** Bytes of strings in a reply, however nested. */
function weigh(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + weigh(x), 0);
  return 0;
}

/** The most bytes one reply on `v`'s connection carried, and all of them. */
function spy(v: EngineQueue) {
  const seen = { most: 0, total: 0 };
  const send = v.r.sendCommand.bind(v.r) as (...a: unknown[]) => Promise<unknown>;
  v.r.sendCommand = (async (...args: unknown[]) => {
    const reply = await send(...args);
    const n = weigh(reply);
    seen.most = Math.max(seen.most, n);
    seen.total += n;
    return reply;
  }) as typeof v.r.sendCommand;
  return seen;
}

/** `n` letters of 1 MB payload, oldest first, one ms apart. */
async function letters(v: EngineQueue, n: number): Promise<void> {
  const start = Date.now() - n;
  for (let i = 0; i < n; i++) {
    const fields = ["id", `d${i}`, "task", "t", "error", "boom", "attempts", "1", "payload", big];
    await v.r.sendCommand(["XADD", v.k.dead, `${start + i}-0`, ...fields]);
  }
}

describe("dead letters read up to a page's bytes, not 16 at a time", () => {
  test("a page of 2.5 MB reads three letters of 1 MB, not sixteen", async () => {
    await using v = await engineQueue();
    await letters(v, 20);
    const seen = spy(v);
    const page = await deadFrom(v.client, v.k, "+", 21, 2.5 * MB);
    expect(page.letters.map((l) => l.id)).toEqual(["d19", "d18", "d17"]);
    expect(page.cut).toBe(true);
    expect(seen.total).toBeLessThan(3.5 * MB);
  });

  test("requeue --all's first page holds its bytes, not sixteen letters", async () => {
    await using v = await engineQueue();
    await letters(v, 20);
    const seen = spy(v);
    const done = await requeueAllLetters(v.client, v.k, { maxAttempts: 3, bytes: 2.5 * MB });
    expect(done.requeued).toBe(20);
    expect(seen.most).toBeLessThan(3.5 * MB);
  });
});

describe("job rows read without the payload", () => {
  test("waiting, running and dead rows: id, task, time and attempt; no payload read", async () => {
    await using v = await engineQueue();
    for (let i = 0; i < 6; i++) await plant(v, { p: big, i: `w${i}`, a: 1 });
    expect(await deliver(v, "w1", 3)).toHaveLength(3);
    await letters(v, 3);
    const seen = spy(v);
    const w = await waiting(v.client, v.k, null, 500, true);
    expect(w.map((p) => [p.row.id, p.row.task, p.row.attempt])).toEqual([
      ["w3", "echo", 2],
      ["w4", "echo", 2],
      ["w5", "echo", 2],
    ]);
    const r = await running(v.client, v.k, null, 500, true);
    expect(r.map((p) => [p.row.id, p.row.task, p.row.attempt, p.row.worker])).toEqual([
      ["w0", "echo", 2, "w1"],
      ["w1", "echo", 2, "w1"],
      ["w2", "echo", 2, "w1"],
    ]);
    const newest = await running(v.client, v.k, null, 500, false);
    expect(newest.map((p) => p.row.id)).toEqual(["w2", "w1", "w0"]);
    const d = await dead(v.client, v.k, null, 500, false);
    expect(d.map((p) => [p.row.id, p.row.task, p.row.attempt])).toEqual([
      ["d2", "t", 1],
      ["d1", "t", 1],
      ["d0", "t", 1],
    ]);
    expect(seen.total).toBeLessThan(MB);
  });
});
