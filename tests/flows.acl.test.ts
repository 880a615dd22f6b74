// The README's Redis ACL rules are enough for dependencies and batches: a producer user
// enqueues a batch and a child, a worker user runs them, the callback and the child run
// (their parents' ends noted, drained and told with these users' commands), an admin user
// cancels a parent and its child fails.
import { afterEach, describe, expect, test } from "bun:test";
import { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { aclUser, dropAclUsers } from "./fixtures/acl.ts";
import { startWorker, testPrefix, testShards, until } from "./helpers.ts";

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
});
