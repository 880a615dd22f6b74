// A queue emptied under a running producer (Redis flushed, or restarted without its data) and
// made again with another shard count: the producer's next jobs go to the shards the queue now
// has, never into a stale shard no worker reads (enqueue.lua refuses a shard with no meta to a
// producer that has not just read the layout; lib/queue/layout.ts reads it again).
import { expect, test } from "bun:test";
import { ErrorReply } from "@redis/client";
import { Admin } from "../lib/admin/admin.ts";
import { PLAIN_RECHECK_MS } from "../lib/config.ts";
import { stampFormat } from "../lib/engine/format.ts";
import { DATA_FORMAT, layoutKey, shardKeys, shardOf } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import { ProducerLayout } from "../lib/queue/layout.ts";
import { PartialBatchError } from "../lib/queue/route.ts";
import { TickEnqueuer } from "../lib/schedule/enqueue.ts";
import type { ScheduleDef } from "../lib/schedule/spec.ts";
import { asClient } from "./fixtures/engine.ts";
import { empty, later, lengths } from "./fixtures/remade.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

test("a 4-shard producer whose queue was emptied and made again with 2 enqueues into those 2", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 4, true);
  // No `shards`: the producer takes the queue's 4.
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  for (let i = 0; i < 8; i++) await q.enqueue("t", i); // every shard has its meta, plain path on
  expect(await lengths(r, shardKeys(prefix, "q", 4))).toBe(8);
  await empty(r, prefix, 4);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  expect(await admin.createQueue({ shards: 2 })).toBe(2); // as a `worker --shards 2` would
  await admin.close();
  const ids = await later(async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await q.enqueue("t", i));
    const many = await q.enqueueMany([1, 2, 3, 4, 5].map((i) => ({ task: "t", payload: i })));
    return [...ids, ...many.map((j) => j.id)];
  });
  // Shard 0's tag is the same in both layouts (shardTag): the 4 shards' others hold nothing.
  const now = shardKeys(prefix, "q", 2);
  const stale = shardKeys(prefix, "q", 4).filter((k) => !now.some((n) => n.stream === k.stream));
  expect(stale.length).toBe(3);
  expect(await lengths(r, stale)).toBe(0);
  expect(await lengths(r, now)).toBe(11);
  for (const id of ids) expect(id).toMatch(/:[01]$/);
  expect(await r.sendCommand(["HGET", layoutKey(prefix, "q"), "shards"])).toBe(String(DATA_FORMAT));
});

test("a 4-shard producer whose queue was emptied and not made again records its 4 shards again", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 4, true);
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  for (let i = 0; i < 4; i++) await q.enqueue("t", i);
  await empty(r, prefix, 4);
  await later(async () => {
    for (let i = 0; i < 4; i++) await q.enqueue("t", i);
  });
  // A worker started now (no --shards) reads the 4 shards the jobs are in, not a one-shard queue.
  expect(await r.sendCommand(["HGET", layoutKey(prefix, "q"), "shards"])).toBe("4");
  expect(await lengths(r, shardKeys(prefix, "q", 4))).toBe(4);
});

test("a one-shard producer whose queue was emptied and made again with 3 enqueues into those 3", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  await q.enqueue("t", 0);
  await empty(r, prefix, 1);
  await openLayout(asClient(r), prefix, "q", 3, true);
  await later(async () => {
    for (let i = 0; i < 3; i++) await q.enqueue("t", i);
  });
  expect(await lengths(r, shardKeys(prefix, "q", 3))).toBe(3);
});

test("a batch over every shard, first after the queue was made again with 3: sent by those 3", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 6, true);
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  await q.enqueueMany([0, 1, 2, 3, 4, 5].map((i) => ({ task: "t", payload: i })));
  await empty(r, prefix, 6);
  await openLayout(asClient(r), prefix, "q", 3, true);
  const jobs = await later(() =>
    q.enqueueMany([0, 1, 2, 3, 4, 5].map((i) => ({ task: "t", payload: i }))),
  );
  expect(jobs.map((j) => j.id.replace(/^.*:/, "")).sort()).toEqual(["0", "0", "1", "1", "2", "2"]);
  expect(await lengths(r, shardKeys(prefix, "q", 3))).toBe(6);
  expect(q.shards).toBe(3);
});

test("a new queue of 4 shards: a shard first written long after connect is made then", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q", shards: 4 });
  await q.enqueue("t", 0); // the layout recorded, one shard made
  // The others' first jobs come past the window: each is refused once, the layout read again
  // (still 4), and made.
  await later(async () => {
    for (let i = 1; i < 8; i++) await q.enqueue("t", i);
  });
  expect(await lengths(r, shardKeys(prefix, "q", 4))).toBe(8);
  for (const k of shardKeys(prefix, "q", 4)) {
    const meta = ["HMGET", k.meta, "format", "of"];
    expect(await r.sendCommand(meta)).toEqual([String(DATA_FORMAT), "4"]);
  }
});

test("a scheduler's tick, after its queue of 4 shards was emptied and made again with 2: in those 2", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 4, true);
  const enqueuer = new TickEnqueuer(asClient(r), prefix);
  const def: ScheduleDef = {
    ...{ queue: "q", every_ms: 1_000, task: "t", payload: null },
    ...{ missed: "skip", paused: false, created_at: 0 },
  };
  // Enough ticks for every shard (a caller id, as a tick's is, goes to its hash's shard).
  const ticks = Array.from({ length: 40 }, (_, i) => (i + 1) * 1_000);
  for (const t of ticks.slice(0, 4)) expect(await enqueuer.enqueue("s", def, t)).toBe(true);
  await empty(r, prefix, 4);
  await openLayout(asClient(r), prefix, "q", 2, true);
  await later(async () => {
    for (const t of ticks.slice(4)) expect(await enqueuer.enqueue("s", def, t)).toBe(true);
  });
  const now = shardKeys(prefix, "q", 2);
  const stale = shardKeys(prefix, "q", 4).filter((k) => !now.some((n) => n.stream === k.stream));
  expect(await lengths(r, stale)).toBe(0);
  expect(await lengths(r, now)).toBe(36);
});

test("a queue given another data format under a running producer: its next batch is refused, nothing written", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await q.enqueue("t", 0);
  const shards = shardKeys(prefix, "q", q.shards);
  // Emptied and made again by a Courier of another format (its workers stamp it first), or
  // the format changed by hand: this producer's jobs would be misread, or read by no worker.
  await empty(r, prefix, q.shards);
  for (const k of shards) await r.sendCommand(["HSET", k.meta, "format", "3"]);
  const err = await later(() => q.enqueue("t", 1).catch((e: unknown) => e));
  expect(err).toBeInstanceOf(RedisRefusedError);
  expect((err as Error).message).toMatch(
    `has data format 3, this Courier reads format ${DATA_FORMAT}: upgrade Courier (or use another --queue/--prefix)`,
  );
  expect(await lengths(r, shards)).toBe(0);
});

test.each([
  ["01", true],
  ["1", true],
  ["x", false],
])(
  "a one-shard queue's count written %p by hand: a job enqueued, or refused in one line",
  async (count, ok) => {
    await using r = await rawRedis();
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "q", shards: 1 });
    await q.enqueue("t", 0);
    await r.sendCommand(["HSET", layoutKey(prefix, "q"), "shards", count]);
    const got = await later(() => q.enqueue("t", 1).catch((e: unknown) => e));
    if (ok) expect(got).toMatch(/^\d+-\d+$/);
    else {
      expect(got).toBeInstanceOf(RedisRefusedError);
      expect((got as Error).message).toBe(
        `queue "q" (prefix ${prefix}) has an unreadable shard count "x" in ${layoutKey(prefix, "q")}`,
      );
    }
  },
);

test("a shard's meta of a 3-shard queue given a count by hand: refused in one line, nothing written", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q", shards: 3 });
  const ids = await q.enqueueMany([0, 1, 2].map((i) => ({ task: "t", payload: i })));
  const shard = shardKeys(prefix, "q", 3)[Number(ids[0]!.id.split(":")[1])]!;
  await r.sendCommand(["HSET", shard.meta, "shards", "7"]);
  const errs = await later(async () => {
    const out: unknown[] = [];
    for (let i = 0; i < 3; i++) out.push(await q.enqueue("t", i).catch((e: unknown) => e));
    return out;
  });
  const refused = errs.filter((e) => e instanceof RedisRefusedError) as Error[];
  expect(refused.length).toBe(1);
  expect(refused[0]!.message).toBe(
    `${shard.meta} holds a shard count "7", which a shard's meta never has (a hand edit: delete its field shards)`,
  );
});

test("emptied twice in a row: the second time, right after the layout was read again, still no stale shard made", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 4, true);
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  for (let i = 0; i < 4; i++) await q.enqueue("t", i); // the layout read before the first
  await empty(r, prefix, 4);
  await later(async () => {
    // Each shard refused, the layout read again (none: 4 recorded again), the job sent again.
    for (let i = 0; i < 4; i++) await q.enqueue("t", i);
  });
  // Right after that read (50 ms on): emptied again and made with 2. The read made for the
  // refused parts licenses no shard with no meta for the batches after it.
  await empty(r, prefix, 4);
  await openLayout(asClient(r), prefix, "q", 2, true);
  await later(async () => {
    for (let i = 0; i < 4; i++) await q.enqueue("t", i);
  }, PLAIN_RECHECK_MS + 50);
  const now = shardKeys(prefix, "q", 2);
  const stale = shardKeys(prefix, "q", 4).filter((k) => !now.some((n) => n.stream === k.stream));
  expect(await lengths(r, stale)).toBe(0);
  expect(await lengths(r, now)).toBe(4);
});

test("a batch refused in part (shard 0 is the same in both layouts): the refused jobs sent again by the new layout, the rest once", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 4, true);
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  for (let i = 0; i < 8; i++) await q.enqueue("t", i); // every shard has its meta
  await empty(r, prefix, 4);
  // Made again with 2, its shards given their format by a Courier that wrote no count in a
  // shard's meta (before `of`): shard 0's meta, the 4 shards' too, takes the stale producer's part.
  const now = (await openLayout(asClient(r), prefix, "q", 2, true)).keys;
  for (const k of now) await r.sendCommand(["HSET", k.meta, "format", String(DATA_FORMAT)]);
  const specs = Array.from({ length: 20 }, (_, i) =>
    i % 2 ? { task: "t", payload: i, id: `job-${i}` } : { task: "t", payload: i },
  );
  const jobs = await later(() => q.enqueueMany(specs));
  specs.forEach((s, i) => {
    if (s.id !== undefined) expect(jobs[i]!.id).toBe(s.id);
    else expect(jobs[i]!.id).toMatch(/^\d+-\d+:[01]$/);
  });
  expect(new Set(jobs.map((j) => j.id)).size).toBe(20);
  const stale = shardKeys(prefix, "q", 4).filter((k) => !now.some((n) => n.stream === k.stream));
  expect(await lengths(r, stale)).toBe(0);
  expect(await lengths(r, now)).toBe(20); // each job once
  expect(q.shards).toBe(2);
});

test("a batch refused in part twice (made again once more meanwhile): one line naming the jobs not enqueued", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 4, true);
  const names = { prefix, queue: "q", shards: undefined };
  const layout = await ProducerLayout.open(asClient(r), names);
  const accepted = { id: "a", created: true };
  const refusal = new ErrorReply("courier: shard x:meta has no meta: read the layout again");
  const sent: number[][] = [];
  const err = await layout
    .sending([1, 2, 3], async (jobs, { shards }) => {
      sent.push([...jobs]);
      // The queue made again with another count, which reread finds, as route.ts's would.
      await empty(r, prefix, shards);
      await openLayout(asClient(r), prefix, "q", shards === 4 ? 2 : 3, true);
      await layout.reread(shards);
      const done = jobs.map((j) => (j === 1 || j === 3 ? { ...accepted, id: `j${j}` } : null));
      throw new PartialBatchError(done, refusal);
    })
    .catch((e: unknown) => e);
  expect(sent).toEqual([[1, 2, 3], [2]]);
  expect(err).toBeInstanceOf(PartialBatchError);
  const partial = err as PartialBatchError;
  expect(partial.jobs).toEqual([{ id: "j1", created: true }, null, { id: "j3", created: true }]);
  expect(partial.error).toBeInstanceOf(RedisRefusedError);
  expect((partial.error as Error).message).toBe(
    `queue "q" (prefix ${prefix}) was emptied and made again with other shards (now 3) while jobs were sent to it: 1 not enqueued, send them again`,
  );
});

test("a stale 2-shard producer's caller ids after the queue was made again with 4: each in its id's shard of 4, dedup exact", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 2, true);
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  await q.enqueueMany([0, 1, 2, 3].map((i) => ({ task: "t", payload: i })));
  await empty(r, prefix, 2);
  // Made again with 4 by a worker, which stamps its shards: shard 0's meta is the 2 shards' too.
  const four = (await openLayout(asClient(r), prefix, "q", 4, true)).keys;
  for (const k of four) await stampFormat(asClient(r), k);
  // Ids of shard 2 of 4 and of shard 0 of 2: the stale layout sends them to the shared shard 0.
  const ids = Array.from({ length: 400 }, (_, i) => `order-${i}`)
    .filter((id) => shardOf(id, 4) === 2 && shardOf(id, 2) === 0)
    .slice(0, 3);
  expect(ids.length).toBe(3);
  await later(async () => {
    for (const id of ids) expect(await q.enqueue("t", id, { id })).toBe(id);
  });
  expect(await lengths(r, [four[0]!])).toBe(0);
  expect(await lengths(r, [four[2]!])).toBe(3);
  await using fresh = await openQueue({ prefix, queue: "q", shards: undefined });
  const again = await fresh.enqueueMany(ids.map((id) => ({ task: "t", payload: id, id })));
  expect(again.map((j) => j.created)).toEqual([false, false, false]);
});

test("a shard's meta given another count (a stale producer's): the queue's producer writes its own there, its jobs in", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  await openLayout(asClient(r), prefix, "q", 4, true);
  const four = shardKeys(prefix, "q", 4);
  for (const k of four) await stampFormat(asClient(r), k);
  await r.sendCommand(["HSET", four[0]!.meta, "of", "2"]);
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  await later(async () => {
    for (let i = 0; i < 8; i++) await q.enqueue("t", i);
  });
  expect(await lengths(r, four)).toBe(8);
  expect(await r.sendCommand(["HGET", four[0]!.meta, "of"])).toBe("4");
  expect(q.shards).toBe(4);
});
