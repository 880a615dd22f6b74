// enqueue.lua's shared layout (ARGV[5] 3 or 2: a batch's task, max attempts, delay and options
// sent once, then id, payload and limit key per job, or no id when none has one) writes what
// the per-job layout (6 or 7 fields a job) writes: the same batch sent both ways, to two fresh
// queues, leaves the same entries, records, delayed set, counters and flags.
import { describe, expect, test } from "bun:test";
import {
  type EnqueueBatch,
  type EnqueueJob,
  enqueueBatch,
  prepareBatch,
  sharesFields,
} from "../lib/engine/enqueue.ts";
import { levelKeys, type QueueKeys } from "../lib/engine/keys.ts";
import { runScript, scripts } from "../lib/engine/lua.ts";
import { asClient, freshQueue, jobs, redisTime } from "./fixtures/engine.ts";
import { type RawRedis, rawRedis } from "./helpers.ts";

const host = (i: number) => (i % 3 === 0 ? undefined : `h${i % 2}.example`);

/** Batches whose jobs share the four fields, each with what sets its jobs apart. */
const cases: [string, () => EnqueueJob[], EnqueueBatch["level"]][] = [
  ["auto ids, no limit key", () => jobs(7), "normal"],
  [
    "auto ids, limit keys on some",
    () => jobs(7).map((j, i) => ({ ...j, limitKey: host(i) })),
    "normal",
  ],
  [
    "caller ids: one twice in the batch, one there before",
    () => [
      ...jobs(3),
      ...["a-1", "a-2", "a-1", "before"].map((id, i) => ({
        ...jobs(1)[0]!,
        id,
        limitKey: host(i),
      })),
    ],
    "normal",
  ],
  [
    "delayed, made ids",
    () => jobs(4, { delayMs: 60_000 }).map((j, i) => ({ ...j, limitKey: host(i) })),
    "normal",
  ],
  ["due at a time", () => jobs(4, { runAt: 4_000_000_000_000 }), "normal"],
  ["due at a time past", () => jobs(3, { runAt: 1_000 }), "normal"],
  ["options", () => jobs(3, { options: '{"x":1}', limitKey: "k" }), "normal"],
  ["a high level", () => jobs(3, { level: "high", limitKey: "k" }), "high"],
];

/** What a queue holds, its times left out (entry ids, `q`, `e`, a delay's due time). */
async function contents(r: RawRedis, keys: QueueKeys, ids: string[]) {
  const stream = (s: string) =>
    r.sendCommand(["XRANGE", s, "-", "+"]) as Promise<[string, string[]][]>;
  const high = levelKeys(keys, "high");
  const entries = [keys.stream, high.stream].map(async (s) => (await stream(s)).map(([, f]) => f));
  const records = ids.map(async (id) => {
    const flat = (await r.sendCommand(["HGETALL", keys.record(id)])) as string[];
    const fields: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] !== "q" && flat[i] !== "e") fields.push(flat[i]!, flat[i + 1]!);
    }
    return fields;
  });
  const members = (k: string) => r.sendCommand(["ZRANGE", k, "0", "-1"]) as Promise<string[]>;
  const delayed = [...(await members(keys.delayed)), ...(await members(high.delayed))];
  return {
    entries: await Promise.all(entries),
    records: await Promise.all(records),
    delayed: delayed.sort(),
    enqueued: await r.sendCommand(["HGET", keys.stats, "enqueued"]),
  };
}

describe("enqueue.lua's shared layout", () => {
  test.each(cases)("%s: as the per-job layout writes it", async (_, make, level) => {
    await using r = await rawRedis();
    const [shared, each] = [await freshQueue(r), await freshQueue(r)];
    for (const keys of [shared, each]) {
      const before = prepareBatch(jobs(1, { id: "before" }));
      await enqueueBatch(asClient(r), keys, before);
    }
    const batch = { ...prepareBatch(make()), level };
    expect(sharesFields(batch.jobs)).toBe(true);
    const a = await enqueueBatch(asClient(r), shared, batch, 60_000, { shared: true });
    const b = await enqueueBatch(asClient(r), each, batch, 60_000, { shared: false });
    expect(a.jobs.map((j) => j.created)).toEqual(b.jobs.map((j) => j.created));
    // Ids alike but for the entry ids of auto-id jobs (the streams differ in time).
    const given = (js: typeof a.jobs) => js.map((j) => (j.entryId === j.id ? "" : j.id));
    expect(given(a.jobs)).toEqual(given(b.jobs));
    const ids = [...new Set(batch.jobs.map((j) => j.id).filter((id) => id !== ""))];
    expect(await contents(r, shared, ids)).toEqual(await contents(r, each, ids));
    if (make()[0]?.runAt !== undefined) {
      const due = (keys: QueueKeys) =>
        r.sendCommand(["ZRANGE", keys.delayed, "0", "-1", "WITHSCORES"]);
      expect(await due(shared)).toEqual(await due(each));
    }
    // Sent again: the receipt's reply, both ways.
    expect(
      (await enqueueBatch(asClient(r), shared, batch, 60_000, { shared: true })).replayed,
    ).toBe(true);
  });

  test("an entry carries its job's limit key (`k`, last), both ways", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const specs = jobs(4).map((j, n) => ({ ...j, limitKey: n % 2 ? "h.example" : undefined }));
    for (const shared of [true, false]) {
      await enqueueBatch(asClient(r), keys, prepareBatch(specs), 60_000, { shared });
    }
    const entries = (await r.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [
      string,
      string[],
    ][];
    const common = (n: number) => ["t", "t", "p", `{"n":${n}}`, "a", "0", "m", "3"];
    const each = [0, 1, 2, 3].map((n) => (n % 2 ? [...common(n), "k", "h.example"] : common(n)));
    expect(entries.map(([, f]) => f)).toEqual([...each, ...each]);
  });

  test.each([true, false])(
    "a delayed set of the wrong type refuses the batch whole (shared %p)",
    async (shared) => {
      await using r = await rawRedis();
      const keys = await freshQueue(r);
      await r.sendCommand(["SET", keys.delayed, "oops"]);
      const batch = prepareBatch([...jobs(2, { delayMs: 1_000 })]);
      const call = enqueueBatch(asClient(r), keys, batch, 60_000, { shared });
      await expect(call).rejects.toThrow(`ERR courier: key ${keys.delayed} holds a string`);
      expect(await r.sendCommand(["EXISTS", keys.receipt(batch.batchId)])).toBe(0);
      expect(await r.sendCommand(["KEYS", `${keys.recordPrefix}*`])).toEqual([]);
    },
  );

  test("a delay's due time is Redis' TIME + the delay, shared", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const t0 = await redisTime(r);
    const batch = prepareBatch(jobs(3, { delayMs: 5_000 }));
    await enqueueBatch(asClient(r), keys, batch, 60_000, { shared: true });
    const t1 = await redisTime(r);
    const scores = (await r.sendCommand([
      "ZRANGE",
      keys.delayed,
      "0",
      "-1",
      "WITHSCORES",
    ])) as string[];
    const due = scores.filter((_, i) => i % 2 === 1).map(Number);
    expect(due).toHaveLength(3);
    for (const d of due) {
      expect(d).toBeGreaterThanOrEqual(t0 + 5_000);
      expect(d).toBeLessThanOrEqual(t1 + 5_000);
    }
  });

  test("jobs that differ in task, max attempts, delay or options are sent one by one", () => {
    const alike = prepareBatch(jobs(3));
    expect(sharesFields(alike.jobs)).toBe(true);
    expect(sharesFields(prepareBatch(jobs(1)).jobs)).toBe(false); // one job: nothing to share
    for (const odd of [
      { task: "other" },
      { maxAttempts: 9 },
      { delayMs: 5 },
      { runAt: 5 },
      { options: "{}" },
    ]) {
      const batch = prepareBatch([...jobs(2), ...jobs(1, odd)]);
      expect(sharesFields(batch.jobs)).toBe(false);
    }
  });

  test.each([
    ["0 fields a job (a step of 0 would loop for ever)", "0", 4],
    ["1 field a job", "1", 3],
    ["not a number", "x", 3],
    ["a short last job, per job", "6", 6 + 4],
    ["a short last job, shared", "3", 4 + 3 + 2],
  ])(
    "a batch layout the script does not know is refused, nothing written: %s",
    async (_, fields, n) => {
      await using r = await rawRedis();
      const keys = await freshQueue(r);
      const names = [
        keys.stream,
        keys.delayed,
        keys.stats,
        keys.receipt("b1"),
        keys.meta,
        keys.events,
      ];
      const args = [keys.recordPrefix, "60000", "2", "", fields];
      for (let i = 0; i < n; i++) args.push(i % 2 === 0 ? "" : "null");
      const sent = runScript(asClient(r), scripts.enqueue, names, args);
      await expect(sent).rejects.toThrow(/not a layout of enqueue\.lua/);
      expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
      expect(await r.sendCommand(["EXISTS", keys.receipt("b1")])).toBe(0);
    },
  );
});
