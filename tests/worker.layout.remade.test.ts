// A worker whose queue was emptied under it (Redis flushed, or restarted without its data): when
// its stream has vanished (NOGROUP) it makes the queue again as it opened it (its shard count,
// then its shard's format) before its group, so jobs sent since go where it reads; a queue made
// again meanwhile with another count or format stops it with one line (lib/worker/remake.ts).
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { layoutKey, shardKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { ConfigError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { asClient } from "./fixtures/engine.ts";
import {
  openQueue,
  type RawRedis,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

/** Every key of the queue's shards (one DEL per shard: a cluster refuses one across slots). */
async function emptyShards(r: RawRedis, prefix: string, shards: number): Promise<void> {
  for (const keys of shardKeys(prefix, "q", shards)) {
    const names = Object.values(keys).filter((v): v is string => typeof v === "string");
    await r.sendCommand(["DEL", ...names.filter((k) => k.includes("}:"))]);
  }
}

const ran: unknown[] = [];
const task = defineTask({ name: "t", run: async (payload: unknown) => void ran.push(payload) });

test("a worker of 4 shards whose queue was emptied records them again: its jobs go where it reads", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const w = await startWorker({ prefix, queue: "q", tasks: [task], shards: 4 });
  await emptyShards(r, prefix, 4);
  await r.sendCommand(["DEL", layoutKey(prefix, "q")]);
  // Its reads meet NOGROUP on every shard: the count is recorded again before the groups.
  await until(
    async () => (await r.sendCommand(["HGET", layoutKey(prefix, "q"), "shards"])) === "4",
    "the worker's count recorded again",
  );
  // A deploy's createQueue({ shards: 2 }) (or `worker --shards 2`) now is refused, not obeyed beside a worker of 4.
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  const err = await admin.createQueue({ shards: 2 }).catch((e: unknown) => e);
  await admin.close();
  expect(err).toBeInstanceOf(ConfigError);
  // A producer connected now sends to the worker's shards.
  await using q = await openQueue({ prefix, queue: "q", shards: undefined });
  await q.enqueue("t", "after");
  await until(() => ran.includes("after"), "the job run by the worker");
  expect(q.shards).toBe(4);
  await w.stop();
});

test("a worker of 4 shards whose queue was made again with 2 stops, saying so", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const w = await startWorker({ prefix, queue: "q", tasks: [task], shards: 4 });
  // The layout made again first (a `worker --shards 2` started after a restart), then the shards'
  // keys gone: the worker's next read meets NOGROUP and finds 2 shards recorded.
  await r.sendCommand(["DEL", layoutKey(prefix, "q")]);
  await openLayout(asClient(r), prefix, "q", 2, true);
  await emptyShards(r, prefix, 4);
  await until(() => w.failure !== null, "the worker refused");
  expect(w.failure?.message).toMatch(
    /queue "q" \(prefix \S+\) was made again with 2 shards: this worker reads 4; start it again/,
  );
  await w.stopped;
});

test("a worker whose queue was made again by a Courier of another format stops, saying so", async () => {
  await using r = await rawRedis();
  const prefix = testPrefix();
  const w = await startWorker({ prefix, queue: "q", tasks: [task], shards: 2 });
  // Its shards' metas made again first (format 3), then the rest of their keys gone.
  const shards = shardKeys(prefix, "q", 2);
  for (const k of shards) {
    await r.sendCommand(["DEL", k.meta]);
    await r.sendCommand(["HSET", k.meta, "format", "3"]);
  }
  for (const k of shards) await r.sendCommand(["DEL", k.stream]);
  await until(() => w.failure !== null, "the worker refused");
  expect(w.failure?.message).toMatch(/has data format 3, this Courier reads format \d+/);
  await w.stopped;
});
