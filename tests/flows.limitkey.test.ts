// A child job keeps its limit key (JobSpec.limitKey, "Rate limits") while it waits for its
// parents: the entry it is released into carries `k`, so the key's limits apply to it as to
// any job. Parent and child may be on different shards in the cluster pass.
import { expect, test } from "bun:test";
import type { Queue } from "../lib/queue/queue.ts";
import { deliverJob, drainAll, finishJob } from "./fixtures/flows.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

const client = (r: unknown) => r as Parameters<typeof drainAll>[0];

/** The fields of job `id`'s entry in its shard's stream, or null while it has none. */
async function entryOf(q: Queue, id: string): Promise<Record<string, string> | null> {
  await using r = await rawRedis();
  const all: [string, string[]][] = await r.sendCommand(["XRANGE", keysOf(q, id).stream, "-", "+"]);
  for (const [, f] of all) {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < f.length; i += 2) fields[f[i]!] = f[i + 1]!;
    if (fields.i === id) return fields;
  }
  return null;
}

test("a child released by its parent's end carries its limit key", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const p = await q.enqueue("t", {});
  const c = await q.enqueue("t", {}, { dependsOn: [p], limitKey: "example.org" });
  const { k, entry } = await deliverJob(client(r), q, p);
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q);
  expect(await entryOf(q, c)).toMatchObject({ t: "t", k: "example.org" });
});
