// The engine's bury (lib/engine/bury.ts, lua/bury.lua, lua/dead.lua) against a real Redis: an
// entry the worker's check refuses is dead-lettered alone and acknowledged; the good entries
// read with it are untouched and run as usual.
import { describe, expect, test } from "bun:test";
import { buryEntries } from "../lib/engine/bury.ts";
import { parseEntry } from "../lib/engine/entry.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { parseOutcome } from "../lib/engine/outcome.ts";
import { connect } from "../lib/redis/connect.ts";
import { asClient, enqueue, freshQueue, jobs, pendingCount, take } from "./fixtures/engine.ts";
import { deliver, engineQueue, pendingRow, plant } from "./fixtures/plant.ts";
import { startSmallRedis } from "./fixtures/redis-small.ts";
import { rawRedis, testPrefix } from "./helpers.ts";

const O = { consumer: "w1", failureTtlS: 900, deadMaxLen: 1000, eventsMaxLen: 1000 };

describe("bury", () => {
  test("a corrupt entry is dead-lettered and acknowledged; good neighbours in the same read are unaffected", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueue(r, keys, jobs(2));
    // Entries no producer of ours writes: planted by hand (a task lost, a count garbled).
    const noTask = await r.sendCommand(["XADD", keys.stream, "*", "p", "{}", "a", "0", "m", "3"]);
    const badMax = await r.sendCommand([
      "XADD",
      keys.stream,
      "*",
      "t",
      "t",
      "p",
      "5",
      "a",
      "0",
      "m",
      "x",
      "i",
      "given-2",
    ]);
    await enqueue(r, keys, jobs(1));
    const read = await take(r, keys, "w1", 10);
    const checks = read.map(([id, f]) => parseEntry(id, f));
    expect(checks.map((c) => c.ok)).toEqual([true, true, false, false, true]);
    const burials = checks.flatMap((c) =>
      c.ok ? [] : [{ entryId: c.entryId, id: c.id, problem: c.problem }],
    );
    expect(burials).toEqual([
      { entryId: noTask, id: noTask, problem: "no task" },
      { entryId: badMax, id: "given-2", problem: "max_attempts is not a number of 1 or more" },
    ]);
    expect(await buryEntries(asClient(r), keys, O, burials)).toEqual([1, 1]);

    const letters = await r.sendCommand(["XRANGE", keys.dead, "-", "+"]);
    expect(letters.map(([, f]: [string, string[]]) => f)).toEqual([
      [
        "id",
        noTask,
        "task",
        "",
        "error",
        "corrupt record: no task",
        "attempts",
        "0",
        "payload",
        "{}",
        "max_attempts",
        "3",
      ],
      [
        "id",
        "given-2",
        "task",
        "t",
        "error",
        "corrupt record: max_attempts is not a number of 1 or more",
        "attempts",
        "0",
        "payload",
        "5",
        "max_attempts",
        "x",
      ],
    ]);
    const failed = parseOutcome(String(await r.sendCommand(["GET", keys.result("given-2")])));
    expect(failed).toMatchObject({
      status: "failed",
      letter: letters[1][0],
      maxAttempts: null, // "x": not a number, so not written into the header
      task: "t",
      payload: "5",
      text: "corrupt record: max_attempts is not a number of 1 or more",
    });
    expect(Number(await r.sendCommand(["TTL", keys.result("given-2")]))).toBeGreaterThan(890);
    expect(await r.sendCommand(["HMGET", keys.stats, "failed", "dead"])).toEqual(["2", "2"]);
    // Gone from the stream and the pending list; the three good ones still pending, intact.
    expect(await r.sendCommand(["XRANGE", keys.stream, noTask, noTask])).toEqual([]);
    expect(await r.sendCommand(["XRANGE", keys.stream, badMax, badMax])).toEqual([]);
    expect(await pendingCount(r, keys)).toBe(3);
    const left = await r.sendCommand(["XRANGE", keys.stream, "-", "+"]);
    expect(left).toEqual(read.filter((_, n) => checks[n]!.ok));
  });

  test("a bury sent again (its reply lost) writes no second letter", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const entry = await r.sendCommand(["XADD", keys.stream, "*", "t", "t", "a", "0", "m", "1"]);
    await take(r, keys, "w1", 1);
    const burial = { entryId: entry, id: entry, problem: "no payload" };
    expect(await buryEntries(asClient(r), keys, O, [burial])).toEqual([1]);
    expect(await buryEntries(asClient(r), keys, O, [burial])).toEqual([0]);
    expect(await r.sendCommand(["XLEN", keys.dead])).toBe(1);
  });

  test("a script error after the letter acknowledges nothing; the bury sent again frees the entry", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const entry = await r.sendCommand(["XADD", keys.stream, "*", "t", "t", "a", "0", "m", "1"]);
    await take(r, keys, "w1", 1);
    // An events stream at the last possible id: the batch's event XADD fails, after the letter
    // and the failed value and before the acknowledgement (an error half-way).
    await r.sendCommand(["XADD", keys.events, "*", "x", "1"]);
    await r.sendCommand(["XSETID", keys.events, "18446744073709551615-18446744073709551615"]);
    const burial = { entryId: entry, id: entry, problem: "no payload" };
    await expect(buryEntries(asClient(r), keys, O, [burial])).rejects.toThrow(/last possible ID/);
    expect(await pendingCount(r, keys)).toBe(1);
    await r.sendCommand(["DEL", keys.events]);
    // The job has its failed value now: the entry is acknowledged, no second letter.
    expect(await buryEntries(asClient(r), keys, O, [burial])).toEqual([0]);
    expect(await pendingCount(r, keys)).toBe(0);
    expect(await r.sendCommand(["XLEN", keys.dead])).toBe(1);
  });

  test("with Redis full (failure TTL 0) only the letter is kept, marked record dropped", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const entry = await r.sendCommand(["XADD", keys.stream, "*", "t", "t", "p", "1", "a", "0"]);
    await take(r, keys, "w1", 1);
    const burial = { entryId: entry, id: entry, problem: "no max_attempts" };
    expect(await buryEntries(asClient(r), keys, { ...O, failureTtlS: 0 }, [burial])).toEqual([1]);
    const [[, letter]] = await r.sendCommand(["XRANGE", keys.dead, "-", "+"]);
    expect(letter.slice(-2)).toEqual(["record", "dropped"]);
    expect(await r.sendCommand(["EXISTS", keys.result(entry)])).toBe(0);
    expect(await pendingCount(r, keys)).toBe(0);
  });

  test("a full Redis still buries: the letter and the outcome are written, the entry freed", async () => {
    await using small = await startSmallRedis(0);
    const client = await connect(small.url);
    try {
      const keys = queueKeys(testPrefix(), "q");
      await client.sendCommand(["XGROUP", "CREATE", keys.stream, "workers", "0", "MKSTREAM"]);
      const entry = await client.sendCommand<string>([
        "XADD",
        keys.stream,
        "*",
        "t",
        "t",
        "m",
        "1",
      ]);
      await client.sendCommand([
        "XREADGROUP",
        "GROUP",
        "workers",
        "w1",
        "STREAMS",
        keys.stream,
        ">",
      ]);
      await small.capBelowUsed();
      await expect(client.sendCommand(["SET", "probe", "x"])).rejects.toThrow(/^OOM/);
      const burial = { entryId: entry, id: entry, problem: "no payload" };
      expect(await buryEntries(client, keys, O, [burial])).toEqual([1]);
      expect(await client.sendCommand<unknown>(["XLEN", keys.dead])).toBe(1);
      expect(await client.sendCommand<unknown>(["EXISTS", keys.result(entry)])).toBe(1);
      expect(await client.sendCommand<unknown>(["XLEN", keys.stream])).toBe(0);
    } finally {
      client.destroy();
    }
  });

  test("an entry whose job already has an outcome is acknowledged only: no letter, no counts", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { i: "dup-1", m: 0 });
    const value = 'F1 1 1 1 - "w0"\n"echo"\n1\n1';
    await v.r.sendCommand(["SET", `${v.k.resultPrefix}dup-1`, value]);
    await deliver(v, "w1");
    const burial = { entryId: entry, id: "dup-1", problem: "max attempts is not a number from 1" };
    expect(await buryEntries(v.client, v.k, O, [burial])).toEqual([0]);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(0);
    expect(await v.r.sendCommand(["EXISTS", v.k.stats])).toBe(0);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
    expect(await v.r.sendCommand(["GET", `${v.k.resultPrefix}dup-1`])).toBe(value);
  });

  test("a counter field that is not an integer: the entry is buried and acknowledged all the same", async () => {
    await using v = await engineQueue();
    await v.r.sendCommand(["HSET", v.k.stats, "dead", "x"]);
    const entry = await plant(v, { m: 0 });
    await deliver(v, "w1");
    const burial = { entryId: entry, id: entry, problem: "max attempts is not a number from 1" };
    expect(await buryEntries(v.client, v.k, O, [burial])).toEqual([1]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["HGET", v.k.stats, "dead"])).toBe("1");
  });
});
