// Admin.createQueue (the "an Admin call" making a sharded queue): it records the
// queue's layout before any job or worker, so producers and workers that come later use its
// shards; a queue that exists keeps its count, and another is refused with nothing written, at
// createQueue and at Admin.connect({ shards }) alike.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { layoutKey } from "../lib/engine/keys.ts";
import { readShards } from "../lib/engine/layout.ts";
import { ConfigError, InputError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { asClient } from "./fixtures/engine.ts";
import { rawRedis, redisUrl, testPrefix } from "./helpers.ts";

test("createQueue records N shards; later producers use them; another N is refused", async () => {
  const prefix = testPrefix();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "made" });
  try {
    expect(await admin.createQueue({ shards: 6 })).toBe(6);
    await using r = await rawRedis();
    expect(await readShards(asClient(r), prefix, "made")).toBe(6);
    expect((await admin.shards()).length).toBe(6);

    // A producer given no count finds the queue's: its auto ids name one of 6 shards.
    const q = await Queue.connect({ redisUrl: redisUrl(), prefix, queue: "made" });
    try {
      expect(await q.enqueue("wordcount", { url: "https://example.org/" })).toMatch(/:[0-5]$/);
    } finally {
      await q.close();
    }

    // Called again: the count it has; another count refused, nothing changed.
    expect(await admin.createQueue()).toBe(6);
    expect(await admin.createQueue({ shards: 6 })).toBe(6);
    const other = admin.createQueue({ shards: 3 });
    await expect(other).rejects.toBeInstanceOf(ConfigError);
    await expect(other).rejects.toThrow(`queue "made" (prefix ${prefix}) has 6 shards, not 3`);
    expect(await r.sendCommand(["HGET", layoutKey(prefix, "made"), "shards"])).toBe("6");
    await expect(admin.createQueue({ shards: 0 })).rejects.toBeInstanceOf(ConfigError);
  } finally {
    await admin.close();
  }
});

test("Admin.connect({ shards }) creates with that count, and refuses another on an existing queue", async () => {
  const prefix = testPrefix();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q", shards: 4 });
  try {
    expect(await admin.createQueue()).toBe(4);
  } finally {
    await admin.close();
  }
  const wrong = Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q", shards: 2 });
  await expect(wrong).rejects.toThrow(`queue "q" (prefix ${prefix}) has 4 shards, not 2`);
  // Without a count, or with its own, it connects.
  const same = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q", shards: 4 });
  await same.close();
});

test("createQueue refuses a key it does not take, or no object, and writes nothing", async () => {
  const prefix = testPrefix();
  await using r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "typo" });
  try {
    // `{ shard: 6 }` made a queue of one shard, for good.
    for (const [options, message] of [
      [{ shard: 6 }, "createQueue: unknown option shard (did you mean shards?)"],
      [null, "createQueue: options must be an object, got null"],
    ] as const) {
      const err = await admin.createQueue(options as never).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toBe(message);
    }
    // A null count is refused as connect's is, not taken for the default (1 shard, for good).
    const nulled = await admin.createQueue({ shards: null } as never).catch((e) => e);
    expect(nulled).toBeInstanceOf(ConfigError);
    expect(nulled.message).toBe("shards must be a whole number from 1 to 1024, got null");
    expect(await r.sendCommand(["EXISTS", layoutKey(prefix, "typo")])).toBe(0);
  } finally {
    await admin.close();
  }
});
