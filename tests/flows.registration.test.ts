// A child whose producer stopped part-way (docs/internals.md, "Dependencies and batches"):
// after depend.lua answered a parent ended (the drain tells the child), between the child's
// record and its last step (a worker's sweep finishes or fails it), and a burst worker that
// does not wait for such a child. A caller id sent again with another parents list is refused.
// Parents and children are on different shards in the cluster pass (6 shards).
import { expect, test } from "bun:test";
import { createChild, listParents } from "../lib/engine/child.ts";
import { dependOn } from "../lib/engine/depend.ts";
import { doneEnded, readEnded } from "../lib/engine/ended.ts";
import { InputError } from "../lib/errors.ts";
import { parentsHash } from "../lib/queue/depends.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { sweepOrphans } from "../lib/worker/orphans.ts";
import { deliverJob, drainAll, finishJob, TELL } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, startWorker, testPrefix } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

async function finished(q: Queue): Promise<string> {
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  const { k, entry } = await deliverJob(client(r), q, p);
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q);
  return p;
}

/** A child's record and lists written as its producer would, `listed` of `parents` listed. */
async function created(q: Queue, id: string, parents: string[], listed = parents.length) {
  await using r = await rawRedis();
  const ck = keysOf(q, id);
  const job = { id, task: "cb", payload: "null", maxAttempts: 1 };
  const list = { count: parents.length, hash: parentsHash(parents) };
  expect((await createChild(client(r), ck, job, "run", list)).created).toBe(true);
  if (listed > 0) await listParents(client(r), ck, id, 0, parents.slice(0, listed));
}

async function sweepAll(q: Queue) {
  await using r = await rawRedis();
  for (const k of shardsOf(q)) await sweepOrphans(client(r), k, shardsOf(q), TELL, 0);
}

test("a producer stopped after depend.lua answered a parent ended: the drain tells the child", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await finished(q);
  await created(q, "cb-1", [p]);
  expect(await dependOn(client(r), keysOf(q, p), "add", "cb-1", [p])).toEqual(["F"]);
  // The producer is killed here: it never tells the child.
  await drainAll(client(r), q);
  expect((await q.getJob("cb-1"))?.status).toBe("queued");
});

test("a producer stopped between the child's record and its parents: a worker's sweep goes on", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await finished(q);
  const waiting = await q.enqueue("t", {});
  await created(q, "cb-2", [p, waiting]);
  await sweepAll(q);
  await drainAll(client(r), q);
  const { k, entry } = await deliverJob(client(r), q, waiting);
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q);
  expect((await q.getJob("cb-2"))?.status).toBe("queued");
  expect(await r.sendCommand(["ZCARD", keysOf(q, "cb-2").registering])).toBe(0);
});

test("a child whose parents were not all listed fails with the reason when swept", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const p = await finished(q);
  await created(q, "cb-3", [p, await q.enqueue("t", {})], 1);
  await sweepAll(q);
  const job = await q.getJob("cb-3");
  expect(job?.status).toBe("failed");
  expect(job?.error).toContain("its producer stopped before listing all its parents");
});

test("a child left unregistered does not keep a burst worker running", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await created(q, "orphan", [await q.enqueue("t", {})], 0);
  const t = defineTask({ name: "t", run: async () => 1 });
  const w = await startWorker({ prefix, tasks: [t], burst: true });
  await w.stopped;
  expect((await q.getJob("orphan"))?.status).toBe("waiting-for-parents");
});

test("a caller id sent again with another dependsOn is refused, the child left as it is", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const x = await q.enqueue("t", {});
  await q.enqueue("t", {}, { id: "a", dependsOn: [x] });
  await q.enqueue("t", {}, { id: "b", dependsOn: ["a"] });
  const again = q.enqueueMany([{ task: "t", payload: {}, id: "a", dependsOn: [x, "b"] }]);
  await expect(again).rejects.toThrow(InputError);
  await expect(again).rejects.toThrow("job a already waits for another list of parents");
  expect(await r.sendCommand(["SMEMBERS", `${keysOf(q, "a").waitsPrefix}a`])).toEqual([x]);
  // The same list again goes on as before.
  expect(await q.enqueueMany([{ task: "t", id: "a", dependsOn: [x] }])).toEqual([
    { id: "a", created: false },
  ]);
});

test("a child added to an ended parent while a drain tells the others is told by the next", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  await q.enqueue("t", {}, { id: "first", dependsOn: [p] });
  const { k, entry } = await deliverJob(client(r), q, p);
  await finishJob(client(r), k, entry);
  const { parents: read } = await readEnded(client(r), k, 100, 1000);
  expect(read).toMatchObject([{ id: p, children: ["first"] }]);
  await created(q, "late", [p]);
  expect(await dependOn(client(r), k, "add", "late", [p])).toEqual(["F"]);
  await doneEnded(client(r), k, read); // the drain that read "first" only
  await drainAll(client(r), q);
  expect((await q.getJob("late"))?.status).toBe("queued");
});
