// The README's Redis ACL rules are enough for dependencies and batches: a producer user
// enqueues a batch and a child, a worker user runs them, the callback and the child run
// (their parents' ends noted, drained and told with these users' commands), an admin user
// cancels a parent and its child fails.
import { afterEach, describe, expect, test } from "bun:test";
import { createChild, listParents } from "../lib/engine/child.ts";
import { parentsHash } from "../lib/queue/depends.ts";
import { Queue } from "../lib/queue/queue.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { sweepOrphans } from "../lib/worker/orphans.ts";
import { aclUser, dropAclUsers } from "./fixtures/acl.ts";
import { deliverJob, finishJob, TELL } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, startWorker, testPrefix, testShards, until } from "./helpers.ts";

afterEach(dropAclUsers);

describe("the README's ACL rules cover dependencies and batches", () => {
  test("producer, worker and admin users: a batch's callback and a child run; a cancel fails a child", async () => {
    const prefix = testPrefix();
    let callbacks = 0;
    const step = defineTask({ name: "step", run: async (n: number) => n });
    const sum = defineTask({
      name: "sum",
      run: async (_: unknown, ctx) => {
        callbacks++;
        let total = 0;
        for await (const p of ctx.parents()) total += p.result as number;
        return total;
      },
    });
    const shards = testShards();
    const q = await Queue.connect({ redisUrl: await aclUser("producer", prefix), prefix, shards });
    const admin = await Queue.connect({ redisUrl: await aclUser("admin", prefix), prefix, shards });
    try {
      const specs = [1, 2, 3, 4].map((n) => ({ task: step, payload: n }));
      // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
      const { ids, callbackId } = await q.enqueueBatch(specs, { then: { task: sum } });
      const child = await q.enqueue(step, 5, { dependsOn: [ids[0]!] });
      const held = await q.enqueue(step, 6, { delayMs: 60_000 });
      const doomed = await q.enqueue(step, 7, { dependsOn: [held] });
      expect(await admin.cancel([held])).toMatchObject([{ verdict: "canceled" }]);
      const url = await aclUser("worker", prefix);
      const w = await startWorker({ prefix, redisUrl: url, tasks: [step, sum] });
      try {
        const end = async (id: string) => {
          await until(
            async () => ["finished", "failed"].includes(String((await q.getJob(id))?.status)),
            id,
          );
          return q.getJob(id);
        };
        expect(await end(callbackId)).toMatchObject({ status: "finished", result: 10 });
        expect(await end(child)).toMatchObject({ status: "finished", result: 5 });
        expect(await end(doomed)).toMatchObject({
          status: "failed",
          error: `parent ${held} canceled`,
        });
        expect(callbacks).toBe(1);
        expect(w.failure).toBeNull();
      } finally {
        await w.stop(1000);
      }
    } finally {
      await Promise.all([q.close(), admin.close()]);
    }
  });

  test("the worker user finishes the steps of a producer killed after listing a child's parents", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const raw = r as unknown as Redis;
    const p = await q.enqueue("t", {});
    const { k, entry } = await deliverJob(raw, q, p);
    await finishJob(raw, k, entry);
    const ck = keysOf(q, "cb");
    const job = { id: "cb", task: "cb", payload: "null", maxAttempts: 1 };
    await createChild(raw, ck, job, "run", { count: 1, hash: parentsHash([p]) });
    await listParents(raw, ck, "cb", 0, [p]); // the producer is killed here
    const w = await connect(await aclUser("worker", prefix));
    try {
      for (const s of shardsOf(q)) await sweepOrphans(w, s, shardsOf(q), TELL, 0);
    } finally {
      w.close();
    }
    expect(await r.sendCommand(["ZCARD", ck.registering])).toBe(0);
    expect((await q.getJob("cb"))?.status).toBe("queued");
  });
});
