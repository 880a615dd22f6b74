// A child whose parents list is a key of another type (corrupt: not one Courier wrote) is settled
// on its own: it leaves letting-go, and the drain goes on to release the shard's other children
// (lib/worker/orphans.ts parentPages). Before, its WRONGTYPE failed every drain of the shard.
import { expect, test } from "bun:test";
import { FlowDrain } from "../lib/worker/flows.ts";
import { deliverJob, finishJob, TELL } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

test("a parents list of another type neither fails the drain nor holds other children back", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  await using r = await rawRedis();
  const client = r as unknown as Parameters<typeof deliverJob>[0];
  const parent = await q.enqueue("t", {});
  const child = await q.enqueue("c", {}, { dependsOn: [parent] });
  const ck = keysOf(q, child);
  // A child already in letting-go (the oldest) whose parents list someone overwrote.
  await r.sendCommand(["SET", `${ck.parentsPrefix}bad`, "x"]);
  await r.sendCommand(["ZADD", ck.lettingGo, "0", "bad"]);
  const { k, entry } = await deliverJob(client, q, parent);
  await finishJob(client, k, entry);
  for (const s of shardsOf(q)) await new FlowDrain(() => client, s, shardsOf(q), TELL).drain();
  expect(await r.sendCommand(["HGET", `${ck.recordPrefix}${child}`, "status"])).toBe("queued");
  expect(await r.sendCommand(["ZSCORE", ck.lettingGo, "bad"])).toBeNull();
});
