import { describe, expect, test } from "bun:test";
import {
  autoIdMs,
  entryOfAutoId,
  fnv1a32,
  GROUP,
  idSuffix,
  isAutoId,
  queueKeys,
  shardKeys,
  shardOf,
  shardTag,
} from "../lib/engine/keys.ts";
import { keySlot, SLOTS } from "../lib/redis/slot.ts";

describe("queueKeys", () => {
  const k = queueKeys("courier", "default");
  test.each([
    ["stream", k.stream, "courier:{default}:stream"],
    ["delayed", k.delayed, "courier:{default}:delayed"],
    ["dead", k.dead, "courier:{default}:dead"],
    ["events", k.events, "courier:{default}:events"],
    ["workers", k.workers, "courier:{default}:workers"],
    ["worker", k.worker("w1"), "courier:{default}:worker:w1"],
    ["stats", k.stats, "courier:{default}:stats"],
    ["result", k.result("abc"), "courier:{default}:r:abc"],
    ["record", k.record("abc"), "courier:{default}:job:abc"],
    ["recordPrefix", k.recordPrefix, "courier:{default}:job:"],
    ["receipt", k.receipt("b1"), "courier:{default}:receipt:b1"],
    ["meta", k.meta, "courier:{default}:meta"],
  ])("%s is %p", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  test("every key of a queue carries the same hash tag (one Redis Cluster slot)", () => {
    const q = queueKeys("app", "emails");
    const all = [
      q.stream,
      q.delayed,
      q.dead,
      q.events,
      q.workers,
      q.worker("w"),
      q.stats,
      q.result("x"),
      q.record("x"),
      q.receipt("b"),
      q.meta,
    ];
    for (const key of all) expect(key).toMatch(/^app:\{emails\}:/);
  });

  test("the consumer group is named workers", () => {
    expect(GROUP).toBe("workers");
  });
});

describe("keySlot: Redis Cluster's CRC16 of the hash tag", () => {
  test.each([
    ["foo", 12182],
    ["{bench:0}", 13661],
    ["{bench:0}:stream", 13661], // only the tag counts
    ["x{bench:0}y{z}", 13661], // the first tag
    ["{user1000}.following", keySlot("{user1000}.followers")],
  ])("%s is in slot %d", (key, slot) => {
    expect(keySlot(key)).toBe(slot);
  });

  test("an empty tag hashes the whole key, not the empty string", () => {
    expect(keySlot("a{}b")).toBe(13694);
    expect(keySlot("a{}b")).not.toBe(keySlot(""));
    expect(keySlot("a{b")).not.toBe(keySlot("b")); // no closing brace: the whole key
  });
});

/** A default 3-master cluster's slot ranges (redis-cli --cluster create): the master of a slot. */
const master = (slot: number) => (slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);

describe("shardTag and shardKeys", () => {
  test.each([6, 12])("%d shards spread N/3 per master of a default 3-master cluster", (n) => {
    const perMaster = [0, 0, 0];
    for (let s = 0; s < n; s++) perMaster[master(keySlot(`{${shardTag("q", s, n)}}`))]! += 1;
    expect(perMaster).toEqual([n / 3, n / 3, n / 3]);
  });

  test.each([6, 12])("with %d shards every shard's keys share one slot, each its own", (n) => {
    const slots = shardKeys("courier", "emails", n).map((k) => {
      const all = [k.meta, k.stream, k.delayed, k.dead, k.events, k.workers, k.worker("w")];
      all.push(k.tasks, k.stats, k.minutes, k.durations, k.result("x"), k.record("x"));
      all.push(k.receipt("b"), `${k.parkedPrefix}t`);
      expect(new Set(all.map(keySlot)).size).toBe(1);
      return keySlot(k.stream);
    });
    expect(new Set(slots).size).toBe(n);
    // Shard s's tag falls in the s-th Nth of the slot space.
    slots.forEach((slot, s) => {
      expect(Math.floor((slot * n) / SLOTS)).toBe(s);
    });
  });

  test("one shard is today's layout; N shards name theirs and their id suffix", () => {
    const [k, ...more] = shardKeys("p", "q", 1);
    const text = (x: object) => JSON.stringify(x); // the key names; functions are left out
    expect(more).toEqual([]);
    expect(text(k!)).toBe(text(queueKeys("p", "q")));
    expect(k!.record("x")).toBe("p:{q}:job:x");
    expect([k!.stream, k!.shard, k!.idSuffix]).toEqual(["p:{q}:stream", 0, ""]);
    const six = shardKeys("p", "q", 6);
    expect(six.map((x) => [x.shard, x.idSuffix])).toEqual(
      [0, 1, 2, 3, 4, 5].map((s) => [s, `:${s}`]),
    );
    expect(six[3]!.stream).toBe(`p:{${shardTag("q", 3, 6)}}:stream`);
    expect(shardTag("q", 0, 1)).toBe("q");
  });
});

describe("job ids and shards", () => {
  test.each([
    [0, 1, ""],
    [0, 6, ":0"],
    [3, 6, ":3"],
    [11, 12, ":11"],
  ])("idSuffix(%d, %d) is %p", (shard, shards, suffix) => {
    expect(idSuffix(shard, shards)).toBe(suffix);
  });

  test.each([
    ["1764423456789-0:3", "1764423456789-0"],
    ["1764423456789-0", "1764423456789-0"],
    ["18446744073709551615-18446744073709551615:1023", "18446744073709551615-18446744073709551615"],
  ])("entryOfAutoId(%p) is %p", (id, entry) => {
    expect(entryOfAutoId(id)).toBe(entry);
  });

  test.each([
    ["1764423456789-0:3", 6, 3],
    ["1764423456789-0:5", 6, 5],
    ["1764423456789-0:6", 6, -1], // a suffix past N names no shard
    ["1764423456789-0", 6, -1], // an auto id of an N > 1 queue always has a suffix
    ["1764423456789-0:3", 1, 0], // one shard: everything is shard 0
    ["job-1", 1, 0],
    ["job-1", 6, fnv1a32("job-1") % 6],
    ["order:42", 12, fnv1a32("order:42") % 12],
  ])("shardOf(%p, %d) is %d", (id, shards, shard) => {
    expect(shardOf(id, shards)).toBe(shard);
  });

  test("a caller id's shard is fixed by its bytes: every shard gets some", () => {
    expect(shardOf("job-1", 6)).toBe(2);
    const seen = new Set(Array.from({ length: 600 }, (_, i) => shardOf(`job-${i}`, 6)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test("an auto id with a suffix is an auto id, with its entry's time", () => {
    expect(isAutoId("1764423456789-0:3")).toBe(true);
    expect(autoIdMs("1764423456789-0:3")).toBe(1764423456789);
  });

  test.each([
    ["", 0x811c9dc5],
    ["a", 0xe40c292c],
    ["foobar", 0xbf9cf968],
    ["é", 0x1e9de8c1], // UTF-8 bytes (c3 a9), not UTF-16 code units
  ])("fnv1a32(%p) is %d", (text, hash) => {
    expect(fnv1a32(text)).toBe(hash);
  });
});
