// A parent's outcome kept while a child may still read it (docs/internals.md, "Dependencies and
// batches"): no TTL from its end (or from a child's registration, when it ended before) until
// every child holding it ended, failed or was canceled waiting; then its TTL again, from then.
// Parents and children are on different shards in the cluster pass (6 shards).
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { readParents } from "../lib/queue/parents.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { deliverJob, drainAll, failJob, finishJob, TELL } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisUrl, testPrefix, testShards, until } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

async function ttlOf(q: Queue, id: string): Promise<number> {
  await using r = await rawRedis();
  return Number(await r.sendCommand(["PTTL", keysOf(q, id).resultPrefix + id]));
}

async function finish(q: Queue, id: string) {
  await using r = await rawRedis();
  const { k, entry } = await deliverJob(client(r), q, id);
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q);
}

test("a finished parent's outcome is kept until the last child holding it has ended", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  const other = await q.enqueue("t", {});
  await q.enqueue("t", {}, { id: "quick", dependsOn: [p] });
  await q.enqueue("cb", {}, { id: "batch-cb", dependsOn: [p, other] });
  await finish(q, p);
  expect(await ttlOf(q, p)).toBe(-1); // held by both children
  await finish(q, "quick");
  expect(await ttlOf(q, p)).toBe(-1); // the callback still waits for `other`
  await finish(q, other);
  const seen: string[] = [];
  for await (const o of readParents(client(r), shardsOf(q), "batch-cb")) seen.push(o.status);
  expect(seen).toEqual(["finished", "finished"]);
  await finish(q, "batch-cb");
  for (const id of [p, other]) {
    const left = await ttlOf(q, id);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(TELL.resultTtlS * 1000);
  }
});

test("a parent ended before its child was enqueued is kept from the child's registration", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const p = await q.enqueue("t", {});
  await finish(q, p);
  expect(await ttlOf(q, p)).toBeGreaterThan(0);
  await q.enqueue("cb", {}, { id: "late", dependsOn: [p, await q.enqueue("t", {})] });
  expect(await ttlOf(q, p)).toBe(-1);
});

test("a child failed by a parent, or canceled waiting, lets go of its parents", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const good = await q.enqueue("t", {});
  const bad = await q.enqueue("t", {}, { maxAttempts: 1 });
  await q.enqueue("t", {}, { id: "fails", dependsOn: [good, bad] });
  const waiting = await q.enqueue("t", {}, { id: "canceled", dependsOn: [good, bad] });
  await finish(q, good);
  expect(await ttlOf(q, good)).toBe(-1);
  expect(await q.cancel([waiting])).toMatchObject([{ verdict: "canceled" }]);
  await drainAll(client(r), q);
  expect(await ttlOf(q, good)).toBe(-1); // "fails" still waits
  const b = await deliverJob(client(r), q, bad);
  await failJob(client(r), b.k, b.entry);
  await drainAll(client(r), q); // tells "fails": it fails
  await drainAll(client(r), q); // and it lets go
  expect((await q.getJob("fails"))?.status).toBe("failed");
  expect(await ttlOf(q, good)).toBeGreaterThan(0);
  const left = await ttlOf(q, bad);
  expect(left).toBeGreaterThan(TELL.resultTtlS * 1000); // the drain's failure TTL, not the result's
});

test("a child's parents list gets its TTL when it ends, even behind 100 children still running", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  const specs = Array.from({ length: 101 }, (_, i) => ({
    task: "t",
    payload: { i },
    id: `kid-${String(i).padStart(3, "0")}`,
    dependsOn: [p],
  }));
  await q.enqueueMany(specs);
  await finish(q, p); // releases all 101, the newest last
  await finish(q, "kid-100"); // the 100 older ones still run
  // Each drain looks at some of the released children, the least recently looked at first.
  for (let i = 0; i < 8; i++) await drainAll(client(r), q);
  const k = keysOf(q, "kid-100");
  expect(Number(await r.sendCommand(["PTTL", `${k.parentsPrefix}kid-100`]))).toBeGreaterThan(0);
});

test("a failed parent requeued from the dead letters before the drain: its children wait for its rerun", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {}, { maxAttempts: 1 });
  await q.enqueue("t", {}, { id: "before", dependsOn: [p] });
  const d = await deliverJob(client(r), q, p);
  await failJob(client(r), d.k, d.entry); // dead-lettered; no drain yet
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, shards: testShards() });
  const requeued = await admin.requeue([p]).finally(() => admin.close());
  expect(requeued).toMatchObject([{ id: p, verdict: "requeued" }]);
  await q.enqueue("t", {}, { id: "after", dependsOn: [p] });
  await drainAll(client(r), q);
  expect((await q.getJob("before"))?.status).toBe("waiting-for-parents");
  expect((await q.getJob("after"))?.status).toBe("waiting-for-parents");
  await finish(q, p); // its rerun finishes
  expect((await q.getJob("before"))?.status).toBe("queued");
  expect((await q.getJob("after"))?.status).toBe("queued");
});

test("a child over a parent that failed already is failed by the drain, with the workers' failure TTL", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const bad = await q.enqueue("t", {}, { maxAttempts: 1 });
  const b = await deliverJob(client(r), q, bad);
  await failJob(client(r), b.k, b.entry);
  await drainAll(client(r), q);
  await q.enqueue("t", {}, { id: "doomed", dependsOn: [bad] });
  await drainAll(client(r), q); // the drain's failure TTL: TELL.failureTtlS, not the default's 7 days
  expect((await q.getJob("doomed"))?.status).toBe("failed");
  const left = await ttlOf(q, "doomed");
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThanOrEqual(TELL.failureTtlS * 1000);
});

test("a dead-lettered child keeps its parents' outcomes as long as its own: a requeue reads them", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  await q.enqueue("cb", {}, { id: "dead-cb", dependsOn: [p] });
  await finish(q, p); // releases the callback
  const d = await deliverJob(client(r), q, "dead-cb");
  const DAY_S = 86_400; // the callback's failed outcome, and its letter's requeue, last a day
  await failJob(client(r), d.k, d.entry, DAY_S);
  await until(async () => {
    await drainAll(client(r), q); // sees the callback ended, then lets go
    return (await ttlOf(q, p)) > 0;
  }, "the callback to let go of its parent");
  // Its own TTL (TELL.resultTtlS, 10 minutes) expired the parent long before a requeue.
  expect(await ttlOf(q, p)).toBeGreaterThan(TELL.resultTtlS * 1000);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, shards: testShards() });
  await admin.requeue(["dead-cb"]).finally(() => admin.close());
  const seen: string[] = [];
  for await (const o of readParents(client(r), shardsOf(q), "dead-cb")) seen.push(o.status);
  expect(seen).toEqual(["finished"]);
});

test("a dead-lettered child that is itself a parent still keeps its parents' outcomes for a requeue", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  await q.enqueue("t", {}, { id: "mid", dependsOn: [p] });
  // A callback over `mid` that runs whatever its outcome: it holds mid's failed outcome (no TTL).
  await q.enqueue("cb", {}, { id: "last", dependsOn: ["mid"], onParentFailure: "run" });
  await finish(q, p);
  const d = await deliverJob(client(r), q, "mid");
  await failJob(client(r), d.k, d.entry, 86_400);
  await until(async () => {
    await drainAll(client(r), q);
    return (await ttlOf(q, p)) > 0;
  }, "mid to let go of its parent");
  expect(await ttlOf(q, "mid")).toBe(-1); // held by `last`
  expect(await ttlOf(q, p)).toBeGreaterThan(TELL.resultTtlS * 1000);
});
