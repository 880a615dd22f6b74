// The calls that copy jobs by id bounded by bytes as well as count (h-102, as R92 finding 3's
// promote and serve): release at a stop, give-back of held entries, claims of lapsed and of own
// entries. Each copies whole entries (payload included): 500 of 256 KB made one call of 0.4 to
// 1.7 s, a claim's reply 125 MB (docs/performance.md, "Calls that move jobs by id"). Entries of
// a known size here, the bound injected small: every job still moves, once, in order.
import { describe, expect, test } from "bun:test";
import { claimLapsed, readOwnPending } from "../lib/engine/claim.ts";
import { giveBackEntries } from "../lib/engine/give-back.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { releaseAll } from "../lib/engine/release.ts";
import {
  deliver,
  type EngineQueue,
  engineQueue,
  pendingRow,
  plant,
  streamEntries,
} from "./fixtures/plant.ts";

/** The bytes of each entry planted below: its fields' names and values (t p a m i). */
const ENTRY = 1 + 4 + 1 + 1000 + 1 + 1 + 1 + 1 + 1 + "job-0".length;
/** Two entries stay under it, the third reaches it: three a call. */
const THREE = 2 * ENTRY + 1;

/** `n` entries job-0… with a 1,000-byte payload each, delivered to `consumer`; their ids. */
async function delivered(v: EngineQueue, n: number, consumer: string): Promise<string[]> {
  for (let i = 0; i < n; i++) await plant(v, { p: "x".repeat(1000), i: `job-${i}` });
  return await deliver(v, consumer, n);
}

/** Counts the calls of `script` Redis ran on the engine's connection (not a NOSCRIPT refusal). */
function calls(v: EngineQueue, script: { sha: string; source: string }): () => number {
  let n = 0;
  const send = v.r.sendCommand.bind(v.r);
  v.r.sendCommand = (async (args: string[], ...rest: unknown[]) => {
    const reply = await (send as (...a: unknown[]) => Promise<unknown>)(args, ...rest);
    if (args[1] === script.sha || args[1] === script.source) n++;
    return reply;
  }) as typeof v.r.sendCommand;
  return () => n;
}

const jobIds = (n: number) => Array.from({ length: n }, (_, i) => `job-${i}`);

async function consumers(v: EngineQueue): Promise<string[]> {
  const rows = (await v.r.sendCommand(["XINFO", "CONSUMERS", v.k.stream, GROUP])) as string[][];
  return rows.map((row) => row[row.indexOf("name") + 1]!);
}

describe("release.lua's bytes", () => {
  test("calls of at most the bound's bytes; every job back once, in order; then it leaves", async () => {
    await using v = await engineQueue();
    await delivered(v, 10, "w1");
    const n = calls(v, scripts.release);
    expect(await releaseAll(v.client, v.k, "w1", { bytes: THREE })).toBe(10);
    expect(n()).toBe(4); // 3, 3, 3, 1
    expect((await streamEntries(v)).map((e) => e.f.i)).toEqual(jobIds(10));
    expect(await v.r.sendCommand(["XPENDING", v.k.stream, GROUP])).toEqual([0, null, null, null]);
    expect(await consumers(v)).not.toContain("w1");
  });

  test("an entry heavier than the bound is released alone", async () => {
    await using v = await engineQueue();
    await delivered(v, 3, "w1");
    const n = calls(v, scripts.release);
    expect(await releaseAll(v.client, v.k, "w1", { bytes: 10 })).toBe(3);
    expect(n()).toBe(3);
    expect((await streamEntries(v)).map((e) => e.f.i)).toEqual(jobIds(3));
  });

  test("a bound of 0 is 1: every call releases one, and the release ends", async () => {
    await using v = await engineQueue();
    await delivered(v, 3, "w1");
    expect(await releaseAll(v.client, v.k, "w1", { bytes: 0 })).toBe(3);
    expect((await streamEntries(v)).map((e) => e.f.i)).toEqual(jobIds(3));
  });
});

describe("give-back.lua's bytes", () => {
  test("calls of at most the bound's bytes; one verdict per entry, every job back once", async () => {
    await using v = await engineQueue();
    const entries = await delivered(v, 5, "w1");
    const n = calls(v, scripts.giveBack);
    const verdicts = await giveBackEntries(v.client, v.k, "w1", entries, "", THREE);
    expect(verdicts).toEqual(["back", "back", "back", "back", "back"]);
    expect(n()).toBe(2); // 3, 2
    expect((await streamEntries(v)).map((e) => e.f.i)).toEqual(jobIds(5));
    for (const e of entries) expect(await pendingRow(v, e)).toBeNull();
  });
});

/** Claims from `cursor` 0-0 until the scan ends: the entries each call took. */
async function claimAll(
  take: (cursor: string) => Promise<{ cursor: string; claimed: { entry: string }[] }>,
) {
  const per: string[][] = [];
  let cursor = "0-0";
  do {
    const reply = await take(cursor);
    per.push(reply.claimed.map((c) => c.entry));
    cursor = reply.cursor;
  } while (cursor !== "0-0");
  return per;
}

const LAPSED = { minIdleMs: 0, count: 100, failureTtlS: 900, deadMaxLen: 1000, eventsMaxLen: 1000 };

describe("claim.lua's bytes", () => {
  test("others: a call stops at the bound, its cursor goes on; every entry taken once, in order", async () => {
    await using v = await engineQueue();
    const entries = await delivered(v, 10, "w0");
    const per = await claimAll((cursor) =>
      claimLapsed(v.client, v.k, { ...LAPSED, consumer: "w1", cursor, bytes: THREE }),
    );
    expect(per.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(per.flat()).toEqual(entries);
    for (const e of entries) expect(await pendingRow(v, e)).toEqual({ owner: "w1", deliveries: 2 });
  });

  test("others: an entry heavier than the bound is taken alone", async () => {
    await using v = await engineQueue();
    const entries = await delivered(v, 3, "w0");
    const per = await claimAll((cursor) =>
      claimLapsed(v.client, v.k, { ...LAPSED, consumer: "w1", cursor, bytes: 10 }),
    );
    expect(per).toEqual(entries.map((e) => [e]));
  });

  test("others: a bound of 0 is 1: each entry taken alone, none passed over", async () => {
    await using v = await engineQueue();
    const entries = await delivered(v, 3, "w0");
    const per = await claimAll((cursor) =>
      claimLapsed(v.client, v.k, { ...LAPSED, consumer: "w1", cursor, bytes: 0 }),
    );
    expect(per).toEqual(entries.map((e) => [e]));
  });

  test("own: a call stops at the bound, its cursor goes on; no delivery count bumped", async () => {
    await using v = await engineQueue();
    const entries = await delivered(v, 10, "w1");
    const per = await claimAll((cursor) =>
      readOwnPending(v.client, v.k, { consumer: "w1", cursor, count: 100, bytes: THREE }),
    );
    expect(per.map((p) => p.length)).toEqual([3, 3, 3, 1]);
    expect(per.flat()).toEqual(entries);
    for (const e of entries) expect(await pendingRow(v, e)).toEqual({ owner: "w1", deliveries: 1 });
  });
});
