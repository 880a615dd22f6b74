// A shard's hash tag can be no queue's name (lib/engine/keys.ts shardTag): with `:` between a
// queue's name and its shard's numbers, a queue named like a shard tag (`s6:1:3`) wrote into
// that shard of another queue, and `result` on it then found nothing.
import { describe, expect, test } from "bun:test";
import { QUEUE_NAME } from "../lib/config.ts";
import { queueKeys, shardKeys, shardTag } from "../lib/engine/keys.ts";
import { keySlot } from "../lib/redis/slot.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

describe("shard tags", () => {
  test.each([2, 3, 6, 12, 1024])("no tag of a queue of %d shards is a queue name", (n) => {
    for (let s = 0; s < n; s++) {
      const tag = shardTag("s6", s, n);
      expect(QUEUE_NAME.test(tag)).toBe(false);
      // The whole tag is the hash tag: no `{` or `}` in it to cut it short.
      expect(keySlot(`x:{${tag}}:stream`)).toBe(keySlot(tag));
    }
  });

  test("a queue named as a shard's numbers with `:` keeps its own keys", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    await using sharded = await openQueue({ prefix, queue: "s6", shards: 6 });
    await sharded.enqueue("wordcount", { url: "https://example.org/a" });
    // What shard 1's tag was with `:` (`s6:1:<j>`), as a queue name.
    const lookalike = shardTag("s6", 1, 6).replaceAll("#", ":");
    await using other = await openQueue({ prefix, queue: lookalike, shards: 1 });
    const id = await other.enqueue("wordcount", { url: "https://example.org/b" });
    const xlen = (key: string) => r.sendCommand(["XLEN", key]).then(Number);
    const shards = await Promise.all(shardKeys(prefix, "s6", 6).map((k) => xlen(k.stream)));
    expect(shards.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await xlen(queueKeys(prefix, lookalike).stream)).toBe(1);
    expect((await other.getJob(id))?.id).toBe(id);
  });
});

/** shardTag as it searched before: each try's whole tag hashed by keySlot (the reference). */
function searchedTag(queue: string, shard: number, shards: number): string {
  if (shards === 1) return queue;
  const width = 16_384 / shards;
  const [low, high] = [shard * width + width / 4, shard * width + (3 * width) / 4];
  for (let j = 0; ; j++) {
    const tag = `${queue}#${shard}#${j}`;
    const slot = keySlot(`{${tag}}`);
    if (slot >= low && slot < high) return tag;
    if (width < 4 && slot >= shard * width && slot < (shard + 1) * width) return tag;
  }
}

describe("shard tags, found fast", () => {
  // A search takes about 2N tries per shard, each hashing the whole tag anew: the keys of a
  // queue of 1,024 shards took 1.6 s of CPU, paid by every CLI call and Queue.connect on it.
  test.each([
    ["default", 2],
    ["q", 6],
    ["some-queue-name", 12],
    ["a.b:c_d-e", 100],
    ["q", 1024],
  ] as const)("queue %s of %d shards: the tags of the whole-tag search", (queue, n) => {
    const step = n > 100 ? 61 : 1; // a sample of a big count: the reference is the slow search
    for (let s = 0; s < n; s += step) expect(shardTag(queue, s, n)).toBe(searchedTag(queue, s, n));
  });

  test("the keys of a queue of 1,024 shards take well under a second of CPU", () => {
    const before = process.cpuUsage();
    shardKeys(testPrefix(), "some-queue-name", 1024);
    expect(process.cpuUsage(before).user / 1_000).toBeLessThan(600);
  });
});
