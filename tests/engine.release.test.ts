// The engine's rare path: release at stop (release.lua) through its typed function, against the
// real Redis of tests/preload.ts. The unfinished run spends no attempt.
import { describe, expect, test } from "bun:test";
import { parseEntry } from "../lib/engine/entry.ts";
import { releaseAll } from "../lib/engine/release.ts";
import { HOSTILE_IDS, queueKeyNames } from "./fixtures/hostile-ids.ts";
import {
  deliver,
  type EngineQueue,
  engineQueue,
  hgetall,
  pendingRow,
  plant,
  streamEntries,
} from "./fixtures/plant.ts";
import { commandCalls } from "./helpers.ts";

async function consumers(v: EngineQueue): Promise<string[]> {
  const rows = (await v.r.sendCommand(["XINFO", "CONSUMERS", v.k.stream, "workers"])) as string[][];
  return rows.map((row) => row[row.indexOf("name") + 1]!);
}

describe("release.lua", () => {
  test("re-adds each held entry with a + deliveries - 1, records the run, leaves the group", async () => {
    await using v = await engineQueue();
    const fresh = await plant(v, { t: "echo", p: "1", a: 0, m: 3 });
    const claimed = await plant(v, { t: "echo", p: "2", a: 1, m: 5, i: "job-c", n: 1 });
    await deliver(v, "w0");
    await v.r.sendCommand(["XCLAIM", v.k.stream, "workers", "w1", "0", fresh, claimed]);
    await deliver(v, "w9"); // nothing left to read: w9 is a consumer holding nothing
    expect(await releaseAll(v.client, v.k, "w1")).toBe(2);
    const entries = await streamEntries(v);
    expect(entries.map((e) => e.f)).toEqual([
      { t: "echo", p: "1", a: "1", m: "3", i: fresh, n: "2" },
      { t: "echo", p: "2", a: "2", m: "5", i: "job-c", n: "3" },
    ]);
    expect(await v.r.sendCommand(["XPENDING", v.k.stream, "workers"])).toEqual([
      0,
      null,
      null,
      null,
    ]);
    const rec = await hgetall(v, `${v.k.recordPrefix}job-c`);
    expect(rec).toMatchObject({ status: "queued", e: entries[1]!.id, n: "3", "h:3": "3  w1" });
    expect(rec["h:3:e"]).toMatch(/^\d+ released$/);
    expect(await consumers(v)).not.toContain("w1");
    expect(await consumers(v)).toContain("w0");
  });

  test("a job that has an outcome already is not re-added", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    await v.r.sendCommand(["SET", v.k.resultPrefix + entry, 'F1 1 1 3 - "w1"\n"echo"\n1\ntrue']);
    expect(await releaseAll(v.client, v.k, "w1")).toBe(0);
    expect(await streamEntries(v)).toEqual([]);
    expect(await v.r.sendCommand(["XPENDING", v.k.stream, "workers"])).toEqual([
      0,
      null,
      null,
      null,
    ]);
  });

  test("only this consumer's entries are released; another worker's stay pending to it", async () => {
    await using v = await engineQueue();
    const theirs = await plant(v);
    await deliver(v, "w0");
    const mine = await plant(v);
    await deliver(v, "w1");
    expect(await releaseAll(v.client, v.k, "w1")).toBe(1);
    expect((await streamEntries(v)).map((e) => e.f.i ?? e.id)).toEqual([theirs, mine]);
    expect(await pendingRow(v, theirs)).toEqual({ owner: "w0", deliveries: 1 });
    expect(await pendingRow(v, mine)).toBeNull();
  });

  test("a re-add that fails leaves the entry pending: acknowledged only after its job is back", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w1");
    // The stream at the last possible id: the re-add's XADD fails (an error half-way).
    await v.r.sendCommand(["XSETID", v.k.stream, "18446744073709551615-18446744073709551615"]);
    await expect(releaseAll(v.client, v.k, "w1")).rejects.toThrow(/last possible ID/);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 1 });
    await v.r.sendCommand(["XSETID", v.k.stream, entry]);
    expect(await releaseAll(v.client, v.k, "w1")).toBe(1);
    expect(await pendingRow(v, entry)).toBeNull();
  });

  test("one XACK and one XDEL per call, whatever the number of entries", async () => {
    await using v = await engineQueue();
    for (let i = 0; i < 3; i++) await plant(v);
    await deliver(v, "w1");
    const [acks, dels] = [
      await commandCalls(v.r, "xack", v.k.stream),
      await commandCalls(v.r, "xdel", v.k.stream),
    ];
    expect(await releaseAll(v.client, v.k, "w1")).toBe(3);
    expect(await commandCalls(v.r, "xack", v.k.stream)).toBe(acks + 1);
    expect(await commandCalls(v.r, "xdel", v.k.stream)).toBe(dels + 1);
    expect((await streamEntries(v)).map((e) => e.f.a)).toEqual(["0", "0", "0"]);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(3); // the old entries deleted
  });

  test("more entries than one call handles: called again until none is left", async () => {
    await using v = await engineQueue();
    for (let i = 0; i < 3; i++) await plant(v);
    await deliver(v, "w1");
    expect(await releaseAll(v.client, v.k, "w1", 1)).toBe(3);
    expect((await streamEntries(v)).map((e) => e.f.a)).toEqual(["0", "0", "0"]);
    expect(await consumers(v)).not.toContain("w1");
  });
});

describe("release.lua: an entry whose `i` names no job", () => {
  test.each(HOSTILE_IDS)(
    "i %s: handed back as it is, no key built from it; its neighbours released",
    async (_, bad) => {
      await using v = await engineQueue();
      const before = await plant(v, { p: "1" });
      const hostile = await plant(v, { p: "2", a: 1, m: 3, i: bad });
      const after = await plant(v, { p: "3", i: "job-after" });
      await deliver(v, "w0");
      await v.r.sendCommand(["XCLAIM", v.k.stream, "workers", "w1", "0", before, hostile, after]);
      expect(await releaseAll(v.client, v.k, "w1")).toBe(3);
      const entries = await streamEntries(v);
      // Its fields as they were, a + deliveries - 1 (delivered twice): the reader buries it.
      expect(entries.map((e) => e.f)).toEqual([
        { t: "echo", p: "1", a: "1", m: "3", i: before, n: "2" },
        { t: "echo", p: "2", a: "2", m: "3", i: bad },
        { t: "echo", p: "3", a: "1", m: "3", i: "job-after", n: "2" },
      ]);
      const back = entries[1]!;
      const check = parseEntry(back.id, Object.entries(back.f).flat());
      expect(check).toMatchObject({ ok: false, problem: "job id is not valid" });
      expect(await queueKeyNames(v)).toEqual(
        [v.k.stream, v.k.recordPrefix + before, `${v.k.recordPrefix}job-after`].sort(),
      );
      expect(await pendingRow(v, hostile)).toBeNull();
      expect(await consumers(v)).not.toContain("w1");
    },
  );
});
