// Queue.events() (lib/queue/events.ts, event-read.ts, event-cursor.ts): the queue's events as an
// async iterator, resumable from a cursor, against real Redis. Events a worker writes
// (finished, failed, retried) and entries written straight into a shard's events stream (a
// finish batch naming many jobs, types other parts of Courier add, trims).
import { describe, expect, test } from "bun:test";
import { TimeoutError } from "@redis/client";
import { printEvents } from "../lib/cli/events.ts";
import { failedReadLine } from "../lib/cli/info-text.ts";
import { InputError, PermanentError, RedisRefusedError } from "../lib/errors.ts";
import type { QueueEvent } from "../lib/queue/event-read.ts";
import type { EventStream } from "../lib/queue/events.ts";
import { mastersOf } from "../lib/redis/cluster.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import {
  clientList,
  openQueue,
  type RawRedis,
  ROOT,
  rawRedis,
  redisTime,
  redisUrl,
  runProcess,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

/** The next `n` events (a hung iterator fails the test with what it got, not a bare time-out). */
async function take(events: EventStream, n: number, ms = 15_000): Promise<QueueEvent[]> {
  const got: QueueEvent[] = [];
  const limit = setTimeout(() => events.close(), ms);
  try {
    while (got.length < n) {
      const r = await events.next();
      if (r.done) throw new Error(`iterator ended after ${got.length} of ${n}: ${brief(got)}`);
      got.push(r.value);
    }
  } finally {
    clearTimeout(limit);
  }
  return got;
}

const brief = (list: QueueEvent[]) => list.map((e) => `${e.type} ${e.id}`).join(", ");

/** Opens events(from) and waits until it has found where it begins ("now" read). */
async function begin(q: Awaited<ReturnType<typeof openQueue>>, from?: string) {
  const events = q.events(from === undefined ? {} : { from });
  await events.cursor();
  return events;
}

/** Each master's events-iterator connections: the node and the connection's id. */
async function eventsConnectionIds(r: RawRedis): Promise<[RawRedis, string][]> {
  const out: [RawRedis, string][] = [];
  for (const node of await mastersOf(r as unknown as Redis)) {
    const list = String(await node.sendCommand(["CLIENT", "LIST"]));
    for (const line of list.split("\n").filter((l) => / name=courier-events /.test(l)))
      out.push([node as unknown as RawRedis, /(?:^| )id=(\d+)/.exec(line)![1]!]);
  }
  return out;
}

const eventConnections = async (r: RawRedis) =>
  (await clientList(r)).split("\n").filter((l) => / name=courier-events /.test(l)).length;

describe("Queue.events()", () => {
  test("a worker's finished, failed and retried events arrive, in order per shard", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const ok = defineTask({ name: "ok", run: async () => "done" });
    const bad = defineTask({
      name: "bad",
      run: async () => {
        throw new PermanentError("no");
      },
    });
    const flaky = defineTask({
      name: "flaky",
      run: async (_p: unknown, _s, job) => {
        if (job.attempt === 1) throw new Error("once");
        return "twice";
      },
    });
    const events = await begin(q);
    const before = await redisTime(r);
    const oks = await Promise.all([1, 2, 3, 4].map(() => q.enqueue("ok", {})));
    const failed = await q.enqueue("bad", {});
    const retried = await q.enqueue("flaky", {}, { maxAttempts: 2 });
    const w = await startWorker({ prefix, tasks: [ok, bad, flaky] });
    const got = await take(events, 7);
    await w.stop();
    const after = await redisTime(r);
    const of = (id: string) => got.filter((e) => e.id === id).map((e) => e.type);
    for (const id of oks) expect(of(id)).toEqual(["finished"]);
    expect(of(failed)).toEqual(["failed"]);
    expect(of(retried)).toEqual(["retried", "finished"]);
    for (const e of got) {
      expect(e.at).toBeGreaterThanOrEqual(before);
      expect(e.at).toBeLessThanOrEqual(after);
      expect(e.shard).toBeGreaterThanOrEqual(0);
      expect(e.shard).toBeLessThan(q.shards);
    }
    // Per shard, the order the stream holds: each event's position on its shard grows.
    const positions = got.map((e) => e.cursor.split(":")[2]!.split(",")[e.shard]!);
    for (let s = 0; s < q.shards; s++) {
      const mine = positions.filter((_, i) => got[i]!.shard === s).map(entryOf);
      expect(mine).toEqual([...mine].sort(compareEntries));
    }
  });

  test("a cursor taken in the middle of a many-job entry resumes with the rest, once", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const [k0, k1] = [shardsOf(q)[0]!, shardsOf(q).at(-1)!];
    await r.sendCommand(["XADD", k0.events, "*", "type", "finished", "ids", "a,b,c,d,e"]);
    const first = await begin(q, "start");
    const seen = await take(first, 2);
    expect(seen.map((e) => e.id)).toEqual(["a", "b"]);
    expect(seen[1]!.cursor).toMatch(/\+2(,|$)/);
    const cursor = seen[1]!.cursor;
    first.close();
    await r.sendCommand(["XADD", k0.events, "*", "type", "failed", "id", "f"]);
    await r.sendCommand(["XADD", k1.events, "*", "type", "retried", "id", "g"]);
    const resumed = q.events({ from: cursor });
    const rest = await take(resumed, 5);
    expect(rest.map((e) => e.id).sort()).toEqual(["c", "d", "e", "f", "g"]);
    const onK0 = rest.filter((e) => e.id !== "g").map((e) => e.id);
    expect(onK0).toEqual(["c", "d", "e", "f"]); // shard 0's order
    // From the last cursor there is nothing left to repeat: the next event is a new one.
    const last = rest.at(-1)!.cursor;
    resumed.close();
    const again = await begin(q, last);
    await r.sendCommand(["XADD", k0.events, "*", "type", "finished", "ids", "h"]);
    expect((await take(again, 1)).map((e) => e.id)).toEqual(["h"]);
    again.close();
  });

  test("a blockMs that is no whole number of ms from 1 is refused: InputError, nothing opened", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    for (const blockMs of [Number.NaN, 0, -5, Number.POSITIVE_INFINITY]) {
      expect(() => q.events({ blockMs })).toThrow(
        `events' blockMs must be a whole number from 1 to 1000000000, got the number ${blockMs}`,
      );
    }
  });

  test('"start" gives every event kept; "now" (the default) only new ones', async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const k = shardsOf(q)[0]!;
    await r.sendCommand(["XADD", k.events, "*", "type", "finished", "ids", "old"]);
    const fromStart = await begin(q, "start");
    const fromNow = await begin(q);
    await r.sendCommand(["XADD", k.events, "*", "type", "finished", "ids", "new"]);
    expect((await take(fromStart, 2)).map((e) => e.id)).toEqual(["old", "new"]);
    expect((await take(fromNow, 1)).map((e) => e.id)).toEqual(["new"]);
  });

  test("other types pass through with their fields; a progress value is parsed", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const k = shardsOf(q)[0]!;
    const events = await begin(q);
    await r.sendCommand(["XADD", k.events, "*", "type", "progress", "id", "p", "value", '{"n":5}']);
    await r.sendCommand(["XADD", k.events, "*", "type", "canceled", "ids", "x,y"]);
    await r.sendCommand([
      "XADD",
      k.events,
      "*",
      "type",
      "failed",
      "id",
      "z",
      "error",
      "boom",
      "__proto__",
      "p",
    ]);
    const got = await take(events, 4);
    expect(got.map(({ type, id }) => [type, id])).toEqual([
      ["progress", "p"],
      ["canceled", "x"],
      ["canceled", "y"],
      ["failed", "z"],
    ]);
    expect(got[0]!.value).toEqual({ n: 5 });
    expect(got[3]!.error).toBe("boom");
    expect(Object.getPrototypeOf(got[3])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got[3], "__proto__")?.value).toBe("p");
  });

  test("events trimmed past the cursor: a gap event, then the events kept", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const k = shardsOf(q)[0]!;
    // Ids of our own, so "the next entry" is known: 100-1 … 100-4, then 200-1 (not next to 100-4).
    for (const [id, job] of [
      ["100-1", "a"],
      ["100-2", "b"],
      ["100-3", "c"],
      ["100-4", "d"],
    ])
      await r.sendCommand(["XADD", k.events, id!, "type", "finished", "ids", job!]);
    const first = await begin(q, "start");
    const [a, b] = await take(first, 2);
    first.close();
    // 100-1 trimmed: from a's cursor the next entry (100-2) is still there, so nothing is lost.
    await r.sendCommand(["XTRIM", k.events, "MAXLEN", "3"]);
    const noGap = q.events({ from: a!.cursor });
    expect((await take(noGap, 3)).map((e) => e.id)).toEqual(["b", "c", "d"]);
    noGap.close();
    // Up to 100-3 trimmed: from b's cursor, c was lost.
    await r.sendCommand(["XTRIM", k.events, "MAXLEN", "1"]);
    const gapped = q.events({ from: b!.cursor });
    const [gap, d] = await take(gapped, 2);
    expect(gap).toMatchObject({
      type: "gap",
      id: "",
      shard: 0,
      after: "100-2",
      resumesAt: "100-4",
    });
    expect(d!.id).toBe("d");
    gapped.close();
    // Resuming from the gap's cursor reads on with no second gap.
    const after = q.events({ from: gap!.cursor });
    expect((await take(after, 1)).map((e) => e.id)).toEqual(["d"]);
    after.close();
  });

  test("a malformed or foreign cursor throws a clear InputError at once", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using other = await openQueue({ prefix, queue: "other" });
    const foreign = await (await begin(other)).cursor();
    const own = await (await begin(q)).cursor();
    const shardsMore = `${own},0-0`;
    const cases: [string, RegExp][] = [
      ["", /is not a cursor of Queue\.events\(\)/],
      ["garbage", /is not a cursor/],
      [foreign, /belongs to another queue or prefix/],
      [shardsMore, new RegExp(`has ${q.shards + 1} shard\\(s\\); this queue has ${q.shards}`)],
      [own.replace(/:[^:]*$/, `:${Array(q.shards).fill("12-x").join(",")}`), /malformed position/],
      [own.replace(/:[^:]*$/, `:${Array(q.shards).fill("1-1+0").join(",")}`), /malformed position/],
      ["v1:\u001b[31m:1-1", /\\x1b/],
    ];
    for (const [cursor, message] of cases) {
      let err: unknown;
      try {
        q.events({ from: cursor });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect(String((err as Error).message)).toMatch(message);
      expect(String((err as Error).message)).not.toContain("\n");
    }
  });

  test("break closes the iterator's connections; Queue.close() ends a waiting one", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const k = shardsOf(q)[0]!;
    expect(await eventConnections(r)).toBe(0);
    const events = await begin(q);
    await r.sendCommand(["XADD", k.events, "*", "type", "finished", "ids", "a,b"]);
    await until(async () => (await eventConnections(r)) > 0, "the events connection");
    const seen: string[] = [];
    for await (const e of events) {
      seen.push(e.id);
      break;
    }
    expect(seen).toEqual(["a"]); // one event, then the break (not an iterator that just ended)
    await until(async () => (await eventConnections(r)) === 0, "the connection closed on break");
    const waiting = await begin(q);
    const next = waiting.next();
    await until(async () => (await eventConnections(r)) > 0, "a blocked read");
    await q.close();
    expect(await next).toEqual({ done: true, value: undefined });
    await until(async () => (await eventConnections(r)) === 0, "closed by Queue.close()");
  });

  test("an events key of another type ends the iterator with one line, no retry", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const k = shardsOf(q).at(-1)!;
    await r.sendCommand(["SET", k.events, "not a stream"]);
    const errors: unknown[] = [];
    for (const from of ["now", "start"]) {
      const events = q.events({ from, onError: (e) => errors.push(e) });
      const err = await events.next().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisRefusedError);
      expect(String((err as Error).message)).toMatch(/^Redis refused .*WRONGTYPE[^\n]*$/);
      expect(await events.next()).toEqual({ done: true, value: undefined });
    }
    expect(errors).toEqual([]);
    await until(async () => (await eventConnections(r)) === 0, "every connection closed");
  });

  test("every job's event arrives once, over every shard", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const ok = defineTask({ name: "ok", run: async () => "done" });
    const events = await begin(q);
    const specs = Array.from({ length: 120 }, (_, i) => ({ task: "ok", payload: { i } }));
    const ids = (await q.enqueueMany(specs)).map((j) => j.id);
    const w = await startWorker({ prefix, tasks: [ok], concurrency: 8 });
    const got = await take(events, ids.length);
    await w.stop();
    expect(got.every((e) => e.type === "finished")).toBe(true);
    expect(got.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(new Set(got.map((e) => e.shard)).size).toBe(q.shards);
    events.close();
  });
});

test("examples/events.ts (the README's) reacts to its jobs and resumes from a cursor", async () => {
  const run = await runProcess([process.execPath, "examples/events.ts"], {
    env: { ...process.env, REDIS_URL: redisUrl() },
  });
  // The README shows the file as it is.
  const readme = await Bun.file(`${ROOT}/README.md`).text();
  expect(readme).toContain(await Bun.file(`${ROOT}/examples/events.ts`).text());
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(run.stdout.trim().split("\n")).toEqual([
    "finished 2, failed 1",
    "resumed after the cursor: finished",
  ]);
});

describe("printEvents (lib/cli/events.ts)", () => {
  test("one line per event, text or JSON, control characters escaped; stops on abort", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const k = shardsOf(q)[0]!;
    await r.sendCommand([
      "XADD",
      k.events,
      "*",
      "type",
      "failed",
      "id",
      "j1",
      "error",
      "x\u001b[2J",
    ]);
    await r.sendCommand(["XADD", k.events, "*", "type", "progress", "id", "j2", "value", "42"]);
    for (const json of [false, true]) {
      const lines: string[] = [];
      const stop = new AbortController();
      const write = (line: string) => {
        lines.push(line);
        if (lines.length === 2) stop.abort();
      };
      const n = await printEvents(q, { from: "start", json, signal: stop.signal, write });
      expect(n).toBe(2);
      for (const line of lines) expect(line).not.toContain("\u001b");
      if (json) {
        const [failed, progress] = lines.map((l) => JSON.parse(l));
        expect(failed).toMatchObject({ type: "failed", id: "j1", error: "x\u001b[2J", shard: 0 });
        expect(progress.value).toBe(42);
        expect(progress.at).toMatch(/^\d{4}-\d\d-\d\dT/);
        // The cursor a line carries resumes after it.
        const resumed = q.events({ from: failed.cursor });
        expect((await take(resumed, 1)).map((e) => e.id)).toEqual(["j2"]);
        resumed.close();
      } else {
        expect(lines[0]).toMatch(/ failed {2}j1 .*x\\x1b\[2J {2}cursor=v1:/);
        expect(lines[1]).toMatch(/ progress {2}j2 .*42 {2}cursor=v1:/);
      }
    }
    await until(async () => (await eventConnections(r)) === 0, "every connection closed");
  });
});

test("printEvents says each failed read (onError) and goes on once Redis answers", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const k = shardsOf(q)[0]!;
  const failures: string[] = [];
  const lines: string[] = [];
  const stop = new AbortController();
  const before = await eventsConnectionIds(r);
  const printing = printEvents(q, {
    from: "start",
    signal: stop.signal,
    write: (line) => {
      lines.push(line);
      stop.abort();
    },
    onError: (err) => failures.push(failedReadLine("queue events", "redis://u:pw@h:1", err)),
  });
  let mine: [RawRedis, string][] = [];
  await until(async () => {
    mine = (await eventsConnectionIds(r)).filter(
      ([n, id]) => !before.some(([m, b]) => m === n && b === id),
    );
    return mine.length > 0;
  }, "the events connection");
  // Its connection cut under it (only its own: other files' iterators may share the server):
  // the read fails, is said, and is tried again.
  for (const [node, id] of mine) await node.sendCommand(["CLIENT", "KILL", "ID", id]);
  await until(async () => failures.length > 0, "the failed read said");
  await r.sendCommand(["XADD", k.events, "*", "type", "finished", "ids", "after"]);
  expect(await printing).toBe(1);
  expect(lines[0]).toMatch(/ finished {2}after /);
  expect(failures[0]).toMatch(
    /^queue events: Redis at redis:\/\/u:\*\*\*@h:1 is unreachable: \S.* \(trying again\)$/,
  );
  const line = (err: unknown) => failedReadLine("queue events", "redis://h:1", err);
  expect(line(new Error("a\u001b[2J\nsecond line"))).toBe(
    "queue events: Redis at redis://h:1 is unreachable: a\\x1b[2J (trying again)",
  );
  // node-redis' command timeout has no message: said all the same.
  expect(line(new TimeoutError())).toMatch(/unreachable: no answer within \d+ ms/);
});

const entryOf = (position: string) => position.replace(/\+\d+$/, "");

function compareEntries(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
