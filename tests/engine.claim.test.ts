// The engine's rare path: claim.lua through its typed functions, against the real Redis of
// tests/preload.ts. Attempts come from delivery counts (docs/internals.md, "7. Claims").
import { describe, expect, test } from "bun:test";
import { type Claimed, claimLapsed, readOwnPending } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { renewLeases } from "../lib/engine/lease.ts";
import {
  deliver,
  type EngineQueue,
  engineQueue,
  hgetall,
  pendingRow,
  plant,
  redisNow,
} from "./fixtures/plant.ts";

const OPTS = { minIdleMs: 0, count: 10, failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };

async function claimAs(
  v: EngineQueue,
  consumer: string,
  more: Partial<typeof OPTS> & { cursor?: string } = {},
) {
  return await claimLapsed(v.client, v.k, { ...OPTS, consumer, ...more });
}

function brief(c: Claimed) {
  if (c.kind === "run") return [c.kind, c.attempt, c.runNo, c.previousOwner];
  return c.kind === "buried" ? [c.kind, c.attempt] : [c.kind];
}

describe("claim.lua, others mode", () => {
  // A delivery count set by hand near 2^63 (XCLAIM … RETRYCOUNT): the letter said `attempts
  // 9.2233720368547758e+18` and the log a negative attempt (R-193). Digits now, as every count.
  test("a delivery count past 2^53: buried, its letter's attempts in digits", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "kill", p: "1", a: 0, m: 3 });
    await deliver(v, "k0");
    const huge = "9223372036854775807";
    await v.r.sendCommand([
      "XCLAIM",
      v.k.stream,
      GROUP,
      "ghost",
      "0",
      entry,
      "RETRYCOUNT",
      huge,
      "JUSTID",
    ]);
    const { claimed } = await claimAs(v, "k1");
    expect(claimed.map(brief)).toEqual([["buried", Number(huge)]]);
    const letters = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string, string[]][];
    const f = letters[0]![1];
    expect(f[f.indexOf("attempts") + 1]).toMatch(/^\d{19}$/);
  });

  test("a job that kills every worker runs as attempts 1, 2, 3, then is buried as abandoned", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "kill", p: "1", a: 0, m: 3 });
    expect(await deliver(v, "k0")).toEqual([entry]); // attempt 1, never acknowledged
    const seen: unknown[] = [];
    for (const k of ["k1", "k2", "k3"]) {
      const { claimed } = await claimAs(v, k);
      seen.push(...claimed.map(brief));
    }
    expect(seen).toEqual([
      ["run", 2, 2, "k0"],
      ["run", 3, 3, "k1"],
      ["buried", 3],
    ]);
    const dead = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string, string[]][];
    expect(dead).toHaveLength(1);
    expect(dead[0]![1]).toContain("abandoned: its worker stopped during attempt 3 of 3");
    expect(await v.r.sendCommand(["XPENDING", v.k.stream, "workers"])).toEqual([
      0,
      null,
      null,
      null,
    ]);
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
    const value = String(await v.r.sendCommand(["GET", v.k.resultPrefix + entry]));
    expect(value).toMatch(/^X\d+ - 3 3 \d+ \d+-\d+ "k2"\n"kill"\n1\nabandoned: its worker stopped/);
    // The abandoned runs before the last are in the record, with their workers.
    const rec = await hgetall(v, v.k.recordPrefix + entry);
    expect(rec).toMatchObject({ status: "failed", "h:1": "1  k0", "h:2": "2  k1" });
    expect(rec["h:1:e"]).toMatch(/^\d+ abandoned$/);
    const stats = await hgetall(v, v.k.stats);
    expect(stats).toMatchObject({ claimed: "2", failed: "1", dead: "1" });
    // The failed value and the record expire after the failure TTL, as any failed job's.
    for (const key of [v.k.resultPrefix + entry, v.k.recordPrefix + entry]) {
      const ttl = Number(await v.r.sendCommand(["TTL", key]));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(OPTS.failureTtlS);
    }
  });

  test("the abandoned run ends at its worker's last sign of life: Redis' idle time", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { m: 2 });
    await deliver(v, "k0");
    const HOUR = 3_600_000;
    const lastSign = async (owner: string) => {
      const t = await redisNow(v);
      // IDLE sets when the entry was last renewed; JUSTID bumps no delivery count.
      const renew = ["XCLAIM", v.k.stream, "workers", owner, "0", entry, "IDLE", String(HOUR)];
      await v.r.sendCommand([...renew, "JUSTID"]);
      return [t - HOUR - 1, (await redisNow(v)) - HOUR + 1] as const;
    };
    const [low, high] = await lastSign("k0");
    expect((await claimAs(v, "k1")).claimed.map(brief)).toEqual([["run", 2, 2, "k0"]]);
    const ended = Number((await hgetall(v, v.k.recordPrefix + entry))["h:1:e"]!.split(" ")[0]);
    expect(ended).toBeGreaterThanOrEqual(low);
    expect(ended).toBeLessThanOrEqual(high);
    const [low2, high2] = await lastSign("k1");
    expect((await claimAs(v, "k2")).claimed.map(brief)).toEqual([["buried", 2]]);
    const value = String(await v.r.sendCommand(["GET", v.k.resultPrefix + entry]));
    const buriedAt = Number(/^X(\d+) /.exec(value)![1]);
    expect(buriedAt).toBeGreaterThanOrEqual(low2);
    expect(buriedAt).toBeLessThanOrEqual(high2);
  });

  test("a claim hands over the entry's fields, its run number and a record", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { t: "echo", p: '"x"', a: 1, m: 5, i: "job-9", n: 2 });
    await deliver(v, "w0");
    const { claimed } = await claimAs(v, "w1");
    expect(claimed).toEqual([
      {
        kind: "run",
        entry,
        attempt: 3,
        runNo: 4,
        hasRecord: true,
        fields: { t: "echo", p: '"x"', a: "1", m: "5", i: "job-9", n: "2" },
        previousOwner: "w0",
      },
    ]);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w1", deliveries: 2 });
    const rec = await hgetall(v, `${v.k.recordPrefix}job-9`);
    expect(rec).toMatchObject({ status: "started", e: entry, n: "3", "h:3": "2  w0" });
  });

  test("an entry idle for less than the lease is not taken", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w0");
    const reply = await claimAs(v, "w1", { minIdleMs: 60_000 });
    expect(reply).toEqual({ cursor: "0-0", claimed: [] });
    expect(await pendingRow(v, entry)).toEqual({ owner: "w0", deliveries: 1 });
  });

  test("a deleted entry is dropped from the pending list, not run", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w0");
    await v.r.sendCommand(["XDEL", v.k.stream, entry]);
    const { claimed } = await claimAs(v, "w1");
    expect(claimed).toEqual([{ kind: "deleted", entry }]);
    expect(await pendingRow(v, entry)).toBeNull();
  });

  test("an entry of a job that has its outcome is acknowledged, not run nor buried", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { a: 2, m: 3 });
    await deliver(v, "w0");
    await v.r.sendCommand(["SET", v.k.resultPrefix + entry, 'F1 1 1 3 - "w0"\n"echo"\n1\ntrue']);
    expect((await claimAs(v, "w1")).claimed).toEqual([{ kind: "done", entry }]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(0);
  });

  test("the cursor goes on after the last entry examined, and ends at 0-0", async () => {
    await using v = await engineQueue();
    const a = await plant(v);
    const b = await plant(v);
    await deliver(v, "w0");
    const first = await claimAs(v, "w1", { count: 1 });
    expect([first.cursor, first.claimed.map((c) => c.entry)]).toEqual([a, [a]]);
    const second = await claimAs(v, "w2", { count: 1, cursor: first.cursor });
    expect(second.claimed.map((c) => c.entry)).toEqual([b]);
    const third = await claimAs(v, "w3", { count: 1, cursor: second.cursor });
    expect(third).toEqual({ cursor: "0-0", claimed: [] });
  });
});

describe("leases (lease.lua) and claims", () => {
  test("a renewed lease bumps no delivery count and keeps the entry from a claim", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w0");
    for (let i = 0; i < 3; i++) expect(await renewLeases(v.client, v.k, "w0", [entry])).toEqual([]);
    expect(await pendingRow(v, entry)).toEqual({ owner: "w0", deliveries: 1 });
    expect((await claimAs(v, "w1", { minIdleMs: 60_000 })).claimed).toEqual([]);
    // Lapsed at last: the claim counts the one delivery, not the renewals.
    expect((await claimAs(v, "w1")).claimed.map(brief)).toEqual([["run", 2, 2, "w0"]]);
    // The claim's new owner has it now: lost to w0.
    expect(await renewLeases(v.client, v.k, "w0", [entry])).toEqual([entry]);
  });

  // Pending on no one (XGROUP DELCONSUMER of the worker's name, by hand): no one else would
  // read it again, so the worker running it takes it back; given up, its job stayed queued for
  // ever. Not when its job has an outcome (another run finished it), nor when the entry
  // has left the stream.
  test("an entry pending on no one is taken back while its job has no outcome", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w0");
    await v.r.sendCommand(["XGROUP", "DELCONSUMER", v.k.stream, GROUP, "w0"]);
    expect(await renewLeases(v.client, v.k, "w0", [entry])).toEqual([]);
    expect((await pendingRow(v, entry))?.owner).toBe("w0");
    // An outcome written meanwhile (another run finished it): lost, as a claimed one is.
    await v.r.sendCommand(["XGROUP", "DELCONSUMER", v.k.stream, GROUP, "w0"]);
    await v.r.sendCommand(["SET", v.k.result(`${entry}${v.k.idSuffix}`), "F1 1 1 3 - -"]);
    expect(await renewLeases(v.client, v.k, "w0", [entry])).toEqual([entry]);
    // An entry gone from the stream: lost.
    await v.r.sendCommand(["DEL", v.k.result(`${entry}${v.k.idSuffix}`)]);
    await v.r.sendCommand(["XDEL", v.k.stream, entry]);
    expect(await renewLeases(v.client, v.k, "w0", [entry])).toEqual([entry]);
  });
});

describe("claim.lua, own mode", () => {
  test("own pending entries come back without a delivery count bumped", async () => {
    await using v = await engineQueue();
    const a = await plant(v, { a: 1, m: 3, n: 1, i: "job-a" });
    const b = await plant(v);
    const gone = await plant(v);
    await deliver(v, "w1"); // the reply of this read was lost
    await v.r.sendCommand(["XDEL", v.k.stream, gone]);
    const own = () => readOwnPending(v.client, v.k, { consumer: "w1", count: 10 });
    const first = await own();
    expect(first.cursor).toBe("0-0");
    expect(first.claimed.map((c) => c.entry)).toEqual([a, b, gone]);
    expect(first.claimed.map(brief)).toEqual([
      ["run", 2, 2, "w1"],
      ["run", 1, 1, "w1"],
      ["deleted"],
    ]);
    // Read again (another lost reply): the same attempts, the deleted entry acknowledged.
    const second = await own();
    expect(second.claimed.map(brief)).toEqual([
      ["run", 2, 2, "w1"],
      ["run", 1, 1, "w1"],
    ]);
    expect(await pendingRow(v, a)).toEqual({ owner: "w1", deliveries: 1 });
    expect(await pendingRow(v, b)).toEqual({ owner: "w1", deliveries: 1 });
    expect(await pendingRow(v, gone)).toBeNull(); // deleted: acknowledged
  });

  test("another consumer's entries are not read", async () => {
    await using v = await engineQueue();
    await plant(v);
    await deliver(v, "w2");
    const reply = await readOwnPending(v.client, v.k, { consumer: "w1", count: 10 });
    expect(reply).toEqual({ cursor: "0-0", claimed: [] });
  });
});

describe("claim.lua, others mode: own entries, bad ids, made records", () => {
  test("others mode leaves this worker's own pending entries to own mode", async () => {
    await using v = await engineQueue();
    const mine = await plant(v);
    await deliver(v, "w1");
    const theirs = await plant(v);
    await deliver(v, "w0");
    const { claimed } = await claimAs(v, "w1");
    expect(claimed.map((c) => [c.entry, c.kind])).toEqual([[theirs, "run"]]);
    expect(await pendingRow(v, mine)).toEqual({ owner: "w1", deliveries: 1 });
    expect(await v.r.sendCommand(["EXISTS", v.k.recordPrefix + mine])).toBe(0);
  });

  test("an entry whose i is no valid job id is buried as corrupt, with no record under it", async () => {
    await using v = await engineQueue();
    const entry = await plant(v, { i: "" });
    await deliver(v, "w0");
    const { claimed } = await claimAs(v, "w1");
    expect(claimed.map(brief)).toEqual([["buried", 1]]);
    expect(await pendingRow(v, entry)).toBeNull();
    expect(await v.r.sendCommand(["EXISTS", v.k.recordPrefix])).toBe(0);
    const [[, letter]] = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [
      [string, string[]],
    ];
    expect(letter.slice(0, 6)).toEqual([
      "id",
      entry,
      "task",
      "echo",
      "error",
      "corrupt record: job id is not valid",
    ]);
  });

  test("a record the claim makes expires unless the job waits on it: a retry keeps it", async () => {
    await using v = await engineQueue();
    const entry = await plant(v);
    await deliver(v, "w0");
    await claimAs(v, "w1");
    const ttl = Number(await v.r.sendCommand(["TTL", v.k.recordPrefix + entry]));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(OPTS.failureTtlS);
    const failed = {
      entry,
      id: null,
      hasRecord: true,
      runNo: 2,
      runMs: 1,
      error: "e",
      retryInMs: 1,
    };
    const o = { consumer: "w1", failureTtlS: 600, deadMaxLen: 100, eventsMaxLen: 100 };
    expect(await failJobs(v.client, v.k, o, [failed])).toEqual(["retrying"]);
    expect(await v.r.sendCommand(["TTL", v.k.recordPrefix + entry])).toBe(-1);
  });
});
