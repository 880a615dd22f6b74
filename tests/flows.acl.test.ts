// The README's Redis ACL rules are enough for dependencies and batches: a producer user
// enqueues a batch and a child, a worker user runs them, the callback and the child run
// (their parents' ends noted, drained and told with these users' commands), an admin user
// cancels a parent and its child fails.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Queue } from "../lib/queue/queue.ts";
import { connect } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { ROOT, rawRedis, redisUrl, startWorker, testPrefix, testShards, until } from "./helpers.ts";

type Role = "producer" | "worker" | "admin";
const created: string[] = [];

async function onEveryNode(command: string[]): Promise<void> {
  const [scheme, hosts] = redisUrl().split("://") as [string, string];
  if (!scheme.endsWith("+cluster")) {
    await using redis = await rawRedis();
    await redis.sendCommand(command);
    return;
  }
  for (const host of hosts.split(",")) {
    const node = await connect(`${scheme.replace("+cluster", "")}://${host}`);
    await node.sendCommand(command).finally(() => node.close());
  }
}

afterEach(async () => {
  for (const user of created.splice(0)) await onEveryNode(["ACL", "DELUSER", user]);
});

/** A user with the README's rules for `role`, on `prefix`'s keys; its Redis URL. */
async function aclUser(role: Role, prefix: string): Promise<string> {
  const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
  const user = `courier-${role}-${prefix}`;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  created.push(user);
  for (const line of readme.split("\n")) {
    const m = /^ACL SETUSER courier-(producer|worker|admin) (.*)$/.exec(line);
    if (m?.[1] !== role) continue;
    const args = m[2]!.trim().split(/\s+/);
    const rule = args.map((a) =>
      a === ">PASSWORD" ? `>${password}` : a === "~courier:*" ? `~${prefix}:*` : a,
    );
    await onEveryNode(["ACL", "SETUSER", user, ...rule]);
  }
  const [scheme, hosts] = redisUrl().split("://") as [string, string];
  return `${scheme}://${user}:${password}@${hosts}`;
}

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
