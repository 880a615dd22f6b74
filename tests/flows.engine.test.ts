// Dependencies through the engine's scripts (docs/internals.md, "Dependencies and batches"):
// every way a parent ends (finished, failed for good, buried, claimed with its attempts used
// up, canceled) tells its children through ended-parents and the drain; the last two parents
// ending at the same moment on two connections release the child once; a parent ending while
// its child is enqueued, in either order; unknown parents refused; corrupt keys settled alone.
// Parents and children are on different shards in the cluster pass (6 shards).
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { dependOn } from "../lib/engine/depend.ts";
import { levelKeys, shardKeys } from "../lib/engine/keys.ts";
import { tellChildren } from "../lib/engine/parent-ended.ts";
import { InputError } from "../lib/errors.ts";
import { parentsHash } from "../lib/queue/depends.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { connect } from "../lib/redis/connect.ts";
import {
  buryJob,
  claimAll,
  deliverJob,
  drainAll,
  failJob,
  finishJob,
  TELL,
} from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisUrl, runCli, testPrefix, testShards } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

/** The entries of job `id` in its shard's stream (0 while it waits, 1 once released). */
async function entriesOf(q: Queue, id: string): Promise<number> {
  await using r = await rawRedis();
  const all = await r.sendCommand(["XRANGE", keysOf(q, id).stream, "-", "+"]);
  return all.filter(([, f]: [string, string[]]) => f[f.indexOf("i") + 1] === id).length;
}

/** Drains until nothing is left in any shard's ended-parents (a failed child is a parent too). */
async function settle(q: Queue): Promise<void> {
  await using r = await rawRedis();
  for (let round = 0; round < 5; round++) {
    await drainAll(client(r), q);
    let left = 0;
    for (const k of shardsOf(q)) left += Number(await r.sendCommand(["ZCARD", k.endedParents]));
    if (left === 0) return;
  }
  throw new Error("ended-parents did not empty");
}

describe("a parent's end tells its children", () => {
  test("finished: the child is released to its stream once, when its last parent ended", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const [p, p2] = [await q.enqueue("t", {}), await q.enqueue("t", {})];
    const c = await q.enqueue("t", { child: true }, { dependsOn: [p, p2] });
    expect(await entriesOf(q, c)).toBe(0);
    const first = await deliverJob(client(r), q, p2);
    expect((await finishJob(client(r), first.k, first.entry)).noted).toBe(1);
    await settle(q);
    expect(await q.getJob(c)).toMatchObject({ status: "waiting-for-parents" });
    expect(await entriesOf(q, c)).toBe(0);
    const { k, entry } = await deliverJob(client(r), q, p);
    expect((await finishJob(client(r), k, entry)).noted).toBe(1);
    await settle(q);
    expect(await entriesOf(q, c)).toBe(1);
    expect(await q.getJob(c)).toMatchObject({ status: "queued", payload: { child: true } });
    await settle(q); // a second drain changes nothing
    expect(await entriesOf(q, c)).toBe(1);
  });

  test("failed for good: the child fails with `parent <id> failed`, and so do its dependents", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const p = await q.enqueue("t", {}, { maxAttempts: 1 });
    const c = await q.enqueue("t", {}, { dependsOn: [p] });
    const g = await q.enqueue("t", {}, { dependsOn: [c] });
    const { k, entry } = await deliverJob(client(r), q, p);
    expect(await failJob(client(r), k, entry)).toEqual(["failed"]);
    await settle(q);
    expect(await q.getJob(c)).toMatchObject({ status: "failed", error: `parent ${p} failed` });
    expect(await q.getJob(g)).toMatchObject({ status: "failed", error: `parent ${c} failed` });
    expect(await entriesOf(q, c)).toBe(0);
  });

  test('failed for good, onParentFailure "run": the child runs anyway', async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const p = await q.enqueue("t", {}, { maxAttempts: 1 });
    const c = await q.enqueue("t", {}, { dependsOn: [p], onParentFailure: "run" });
    const { k, entry } = await deliverJob(client(r), q, p);
    await failJob(client(r), k, entry);
    await settle(q);
    expect(await q.getJob(c)).toMatchObject({ status: "queued" });
    expect(await entriesOf(q, c)).toBe(1);
  });

  test("buried (its entry refused by the worker's check): the child fails", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const p = await q.enqueue("t", {}, { id: "parent-buried" });
    const c = await q.enqueue("t", {}, { dependsOn: [p] });
    const { k, entry } = await deliverJob(client(r), q, p);
    expect(await buryJob(client(r), k, entry, p)).toEqual([1]);
    await settle(q);
    expect(await q.getJob(c)).toMatchObject({ status: "failed", error: `parent ${p} failed` });
  });

  test("claimed with its attempts used up (its worker died): the child fails", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const p = await q.enqueue("t", {}, { maxAttempts: 1 });
    const c = await q.enqueue("t", {}, { dependsOn: [p] });
    const { k } = await deliverJob(client(r), q, p, "dead-worker");
    const claimed = await claimAll(client(r), k, "w2");
    expect(claimed.claimed.map((x) => x.kind)).toEqual(["buried"]);
    await settle(q);
    expect(await q.getJob(c)).toMatchObject({ status: "failed", error: `parent ${p} failed` });
  });

  test("canceled: the child fails with `parent <id> canceled`; a canceled child is left alone", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const p = await q.enqueue("t", {});
    const c1 = await q.enqueue("t", {}, { dependsOn: [p] });
    const c2 = await q.enqueue("t", {}, { dependsOn: [p] });
    expect(await q.cancel([c2])).toEqual([
      { id: c2, verdict: "canceled", from: "waiting-for-parents" },
    ]);
    expect(await q.cancel([p])).toEqual([{ id: p, verdict: "canceled", from: "queued" }]);
    await settle(q);
    expect(await q.getJob(c1)).toMatchObject({ status: "failed", error: `parent ${p} canceled` });
    expect(await q.getJob(c2)).toMatchObject({ status: "canceled" });
  });
});

describe("enqueue", () => {
  test("enqueueMany sends a child after the jobs listed before it; a high child goes to its level", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const jobs = await q.enqueueMany([
      { task: "t", id: "pa" },
      { task: "t", id: "kid", dependsOn: ["pa"], priority: "high" },
      { task: "t", id: "after" },
    ]);
    expect(jobs).toEqual([
      { id: "pa", created: true },
      { id: "kid", created: true },
      { id: "after", created: true },
    ]);
    expect(await q.getJob("kid")).toMatchObject({
      status: "waiting-for-parents",
      priority: "high",
    });
    // Sent again (a caller id): nothing enqueued twice.
    expect((await q.enqueue("t", {}, { id: "kid", dependsOn: ["pa"] })) === "kid").toBe(true);
    const { k, entry } = await deliverJob(client(r), q, "pa");
    await finishJob(client(r), k, entry);
    await settle(q);
    const high = levelKeys(keysOf(q, "kid"), "high").stream;
    const added = await r.sendCommand(["XRANGE", high, "-", "+"]);
    expect(added.map(([, f]: [string, string[]]) => f[f.indexOf("i") + 1])).toEqual(["kid"]);
    expect(await q.getJob("kid")).toMatchObject({ status: "queued", priority: "high" });
  });
});

describe("a producer that sends again", () => {
  test("a child whose enqueue stopped half-way is completed by the next send, listed once", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const parents = [await q.enqueue("t", {}), await q.enqueue("t", {}), await q.enqueue("t", {})];
    // The first send wrote the child and listed one parent, then its producer died.
    const { createChild, listParents } = await import("../lib/engine/child.ts");
    const ck = keysOf(q, "again");
    const job = { id: "again", task: "t", payload: "{}", maxAttempts: 1 };
    await createChild(client(r), ck, job, "fail", { count: 3, hash: parentsHash(parents) });
    expect(await listParents(client(r), ck, "again", 0, [parents[0]!])).toBe(1);
    // A chunk sent again at a stale offset lists nothing twice.
    expect(await listParents(client(r), ck, "again", 0, [parents[0]!])).toBe(1);
    expect(await q.enqueueMany([{ task: "t", id: "again", dependsOn: parents }])).toEqual([
      { id: "again", created: false },
    ]);
    expect(await r.sendCommand(["LRANGE", `${ck.parentsPrefix}again`, "0", "-1"])).toEqual(parents);
    for (const p of parents) {
      const { k, entry } = await deliverJob(client(r), q, p);
      await finishJob(client(r), k, entry);
    }
    await settle(q);
    expect(await entriesOf(q, "again")).toBe(1);
  });
});

describe("the callback runs once", () => {
  test("the last two parents end at the same moment on two connections: one release", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const [a, b] = [await connect(redisUrl()), await connect(redisUrl())];
    try {
      const parents = [await q.enqueue("t", { n: 1 }), await q.enqueue("t", { n: 2 })];
      const cb = await q.enqueue("t", {}, { dependsOn: parents, onParentFailure: "run" });
      const p1 = await deliverJob(a, q, parents[0]!);
      const p2 = await deliverJob(b, q, parents[1]!);
      // Both parents end in the same moment, each on its own connection (as two workers).
      await Promise.all([finishJob(a, p1.k, p1.entry), finishJob(b, p2.k, p2.entry)]);
      // Both workers drain every shard at once: each tells the callback of the parents it sees.
      await Promise.all([drainAll(a, q), drainAll(b, q)]);
      expect(await entriesOf(q, cb)).toBe(1);
      // And the same pairs told again from both connections at once change nothing.
      const k = keysOf(q, cb);
      const pairs = parents.map((parent) => ({ child: cb, parent, letter: "F" as const }));
      const told = await Promise.all([
        tellChildren(a, k, TELL, pairs),
        tellChildren(b, k, TELL, [...pairs].reverse()),
      ]);
      expect(told).toEqual([
        { released: 0, failed: 0 },
        { released: 0, failed: 0 },
      ]);
      expect(await entriesOf(q, cb)).toBe(1);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  test("the two last parents told at once from two connections: exactly one call releases", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const [a, b] = [await connect(redisUrl()), await connect(redisUrl())];
    try {
      const parents = [
        await q.enqueue("t", {}),
        await q.enqueue("t", {}),
        await q.enqueue("t", {}),
      ];
      const cb = await q.enqueue("t", {}, { dependsOn: parents });
      const k = keysOf(q, cb);
      // One of three ended: the callback still waits.
      const first = { child: cb, parent: parents[2]!, letter: "F" as const };
      expect(await tellChildren(a, k, TELL, [first])).toEqual({ released: 0, failed: 0 });
      expect(await q.getJob(cb)).toMatchObject({ status: "waiting-for-parents" });
      const told = await Promise.all([
        tellChildren(a, k, TELL, [{ child: cb, parent: parents[0]!, letter: "F" }]),
        tellChildren(b, k, TELL, [{ child: cb, parent: parents[1]!, letter: "F" }]),
      ]);
      expect(told.map((t) => t.released).sort()).toEqual([0, 1]);
      expect(await entriesOf(q, cb)).toBe(1);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

describe("a parent ending while its child is enqueued", () => {
  // The producer's steps (lib/queue/depends.ts): check, child written, depend.lua 'add', the
  // parents answered ended told to the child. A parent's end falls before or after 'add'.
  async function steps(q: Queue, p: string, endAt: "before-add" | "after-add") {
    await using r = await rawRedis();
    const child = "child-1";
    const pk = keysOf(q, p);
    const { k, entry } = await deliverJob(client(r), q, p);
    expect(await dependOn(client(r), pk, "check", "", [p])).toEqual(["w"]);
    const { createChild, listParents } = await import("../lib/engine/child.ts");
    const ck = keysOf(q, child);
    const job = { id: child, task: "t", payload: "{}", maxAttempts: 1 };
    const list = { count: 1, hash: parentsHash([p]) };
    expect((await createChild(client(r), ck, job, "fail", list)).created).toBe(true);
    expect(await listParents(client(r), ck, child, 0, [p])).toBe(1);
    if (endAt === "before-add") expect((await finishJob(client(r), k, entry)).noted).toBe(0);
    const marks = await dependOn(client(r), pk, "add", child, [p]);
    if (endAt === "after-add") {
      expect(marks).toEqual(["w"]);
      expect((await finishJob(client(r), k, entry)).noted).toBe(1);
      await settle(q);
    } else {
      expect(marks).toEqual(["F"]);
      await tellChildren(client(r), ck, TELL, [{ child, parent: p, letter: "F" }]);
    }
    expect(await entriesOf(q, child)).toBe(1);
  }

  test("the parent ends before the child is added to it: depend.lua answers it ended", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await steps(q, await q.enqueue("t", {}), "before-add");
  });

  test("the parent ends after: its finish sees the dependent and the drain tells it", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await steps(q, await q.enqueue("t", {}), "after-add");
  });
});

describe("a child's parents list", () => {
  test("lives as long as the child's outcome: once it ended, failed, or was canceled waiting", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const ttl = async (id: string) =>
      Number(await r.sendCommand(["PTTL", keysOf(q, id).parentsPrefix + id]));
    const p = await q.enqueue("t", {});
    const ran = await q.enqueue("t", {}, { id: "ran", dependsOn: [p] });
    const waiting = await q.enqueue("t", {}, { id: "waiting", dependsOn: [p] });
    expect(await q.cancel([waiting])).toMatchObject([{ verdict: "canceled" }]);
    expect(await ttl(waiting)).toBeGreaterThan(0); // canceled while waiting: the failure TTL
    const { k, entry } = await deliverJob(client(r), q, p);
    await finishJob(client(r), k, entry);
    await settle(q);
    expect(await ttl(ran)).toBe(-1); // released: kept while it waits in its stream and runs
    const d = await deliverJob(client(r), q, ran);
    await finishJob(client(r), d.k, d.entry);
    await settle(q); // the drain's sweep
    const left = await ttl(ran);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(600_000); // the outcome's (resultTtlS 600 in finishJob)
    expect(await r.sendCommand(["ZCARD", keysOf(q, ran).released])).toBe(0);
    // A child failed by its parent: its list gets the failure TTL at once.
    const bad = await q.enqueue("t", {}, { maxAttempts: 1 });
    const failed = await q.enqueue("t", {}, { id: "failed", dependsOn: [bad] });
    const b = await deliverJob(client(r), q, bad);
    await failJob(client(r), b.k, b.entry);
    await settle(q);
    expect(await ttl(failed)).toBeGreaterThan(0);
  });
});

describe("refused and corrupt", () => {
  test("an unknown or expired parent refuses the enqueue, nothing written", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const p = await q.enqueue("t", {});
    const { k, entry } = await deliverJob(client(r), q, p);
    await finishJob(client(r), k, entry);
    await r.sendCommand(["DEL", k.result(p)]); // its outcome expired
    for (const parents of [["never-enqueued"], [p]]) {
      const err = await q.enqueue("t", {}, { id: "c", dependsOn: parents }).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toBe(
        `dependsOn: job ${parents[0]} is unknown in this queue (never enqueued, or its outcome expired)`,
      );
    }
    expect(await q.getJob("c")).toBeNull();
    for (const bad of [[""], ["a b"], "x"]) {
      const err = await q.enqueue("t", {}, { dependsOn: bad as string[] }).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
    }
  });

  // enqueueMany promises that one bad spec throws and nothing is enqueued: an unknown parent (a
  // typo) refused its child after the jobs listed before it were sent, and a caller who
  // fixed it and sent again got those jobs twice. The parents are checked first now; a parent
  // listed earlier in the same call (by its caller id) is known by then. (A batch's callback is
  // checked when it is sent: its dependsOn may name jobs of the batch.)
  test("an unknown parent in enqueueMany: nothing enqueued", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const a = { task: "t", payload: {} };
    const typo = { ...a, dependsOn: ["typo-id"] };
    const err = await q.enqueueMany([a, a, typo, a]).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toStartWith("dependsOn: job typo-id is unknown in this queue");
    let queued = 0;
    for (const k of shardKeys(prefix, "default", testShards() ?? 1)) {
      queued += Number(await r.sendCommand(["XLEN", k.stream]));
    }
    expect(queued).toBe(0);
    // A parent listed before its child in the same call is known by the time the child goes.
    const ok = await q.enqueueMany([
      { ...a, id: "p1" },
      { ...a, dependsOn: ["p1"] },
    ]);
    expect(ok.map((j) => j.created)).toEqual([true, true]);
    // A batch's callback may name jobs of the batch in its own dependsOn (RR2).
    const callback = { ...a, dependsOn: ["part-a"] };
    const batch = await q
      // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
      .enqueueBatch([{ ...a, id: "part-a" }, a], { then: callback });
    expect(batch.ids).toHaveLength(2);
  });

  test("corrupt keys of ours are settled alone: a has-dependents of another type, a child's waits", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await using r = await rawRedis();
    const p = await q.enqueue("t", {});
    const c1 = await q.enqueue("t", {}, { id: "c-one", dependsOn: [p] });
    const c2 = await q.enqueue("t", {}, { id: "c-two", dependsOn: [p] });
    await r.sendCommand(["DEL", keysOf(q, c1).waitsPrefix + c1]);
    await r.sendCommand(["SET", keysOf(q, c1).waitsPrefix + c1, "junk"]);
    const { k, entry } = await deliverJob(client(r), q, p);
    expect((await finishJob(client(r), k, entry)).codes).toEqual([1]);
    await settle(q);
    expect(await entriesOf(q, c2)).toBe(1); // its sibling's junk stopped nothing
    expect(await q.getJob(c1)).toMatchObject({ status: "waiting-for-parents" });
    // A has-dependents key of another type: the finish still records its job.
    const p2 = await q.enqueue("t", {});
    const k2 = keysOf(q, p2);
    await r.sendCommand(["SET", k2.hasDependents, "junk"]);
    const d = await deliverJob(client(r), q, p2);
    expect(await finishJob(client(r), d.k, d.entry)).toMatchObject({ codes: [1], noted: 0 });
    expect(await q.getJob(p2)).toMatchObject({ status: "finished" });
  });

  test("queue jobs --state waiting-for-parents lists the children that wait", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const p = await q.enqueue("t", {});
    const c = await q.enqueue("kid", {}, { dependsOn: [p] });
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, shards: testShards() });
    try {
      const page = await admin.jobs({ state: "waiting-for-parents", limit: 10, oldest: false });
      expect(page.jobs.map((j) => [j.id, j.task, j.attempt])).toEqual([[c, "kid", 1]]);
    } finally {
      await admin.close();
    }
  });
});

describe("through the CLI", () => {
  test("result, queue jobs and cancel show a job waiting for its parents", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const p = await q.enqueue("t", {});
    const c = await q.enqueue("kid", {}, { id: "kid-1", dependsOn: [p] });
    const shown = await runCli("result", ["--prefix", prefix, "--json", c]);
    expect(shown.code).toBe(3);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: c, status: "waiting-for-parents" });
    const listed = await runCli("queue", [
      "jobs",
      "default",
      "--prefix",
      prefix,
      "--state",
      "waiting-for-parents",
      "--json",
    ]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).jobs.map((j: { id: string }) => j.id)).toEqual([c]);
    const canceled = await runCli("cancel", ["--prefix", prefix, c]);
    expect(canceled).toEqual({
      code: 0,
      stdout: `${c}: canceled (was waiting-for-parents)\n`,
      stderr: "",
    });
  });
});
