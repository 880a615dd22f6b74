// A stalled process whose name a later start took, stopped (SIGTERM, stop()) before its next
// heartbeat tells it so (docs/internals.md, "A name taken over", "8. Shutdown"): its release
// must not give back the entries pending on the name, nor delete the hash or the place in
// `workers`: they are the later start's. release.lua checks the hash's `start` in the same
// script as it releases. Each step waits for an event, never a sleep.
import { describe, expect, test } from "bun:test";
import { entryFields } from "../lib/engine/entry.ts";
import { GROUP, levelKeys, type QueueKeys } from "../lib/engine/keys.ts";
import { releaseAll } from "../lib/engine/release.ts";
import type { Task } from "../lib/types.ts";
import { asClient, enqueue, freshQueue, jobs, take } from "./fixtures/engine.ts";
import { logRecorder, pinShards, type RawRedis, rawRedis, startWorker, until } from "./helpers.ts";

// Queues built by hand (freshQueue): one shard, one slot.
pinShards(1);

/** The later start W holds the name (name.lua's hash, its beat in `workers`). */
async function takeName(r: RawRedis, keys: QueueKeys): Promise<void> {
  await r.sendCommand(["HSET", keys.worker("dup"), "start", "another-start", "pid", "2"]);
  await r.sendCommand(["ZADD", keys.workers, "1", "dup"]);
}

async function pendingOn(r: RawRedis, stream: string): Promise<string[][]> {
  const rows = (await r.sendCommand(["XPENDING", stream, GROUP, "-", "+", "10"])) as string[][];
  return rows.map(([entry, owner]) => [entry!, owner!]);
}

describe("release.lua and the start token", () => {
  test("another start's hash: nothing released, the hash and the workers entry kept", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueue(r, keys, jobs(1));
    await takeName(r, keys);
    const [entry] = await take(r, keys, "dup", 1); // W's delivery
    const c = asClient(r);
    expect(await releaseAll(c, keys, "dup", { start: "p", leave: true })).toBeNull();
    expect(await pendingOn(r, keys.stream)).toEqual([[entry![0], "dup"]]);
    expect(await r.sendCommand(["HGET", keys.worker("dup"), "start"])).toBe("another-start");
    expect(await r.sendCommand(["ZSCORE", keys.workers, "dup"])).toBe("1");
    // A level's view of the shard checks the shard's hash too (its stream is untouched).
    const high = levelKeys(keys, "high");
    expect(await releaseAll(c, high, "dup", { start: "p" })).toBeNull();
    // Its own start releases, leaves the group and the workers set, deletes the hash.
    expect(await releaseAll(c, keys, "dup", { start: "another-start", leave: true })).toBe(1);
    expect(await pendingOn(r, keys.stream)).toEqual([]);
    expect(await r.sendCommand(["EXISTS", keys.worker("dup")])).toBe(0);
    expect(await r.sendCommand(["ZSCORE", keys.workers, "dup"])).toBeNull();
  });

  test("a hash gone (expired, no one took the name): the start releases what is pending", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    await enqueue(r, keys, jobs(1));
    await r.sendCommand(["ZADD", keys.workers, "1", "dup"]);
    await take(r, keys, "dup", 1);
    expect(await releaseAll(asClient(r), keys, "dup", { start: "p", leave: true })).toBe(1);
    expect(await pendingOn(r, keys.stream)).toEqual([]);
    expect(await r.sendCommand(["ZSCORE", keys.workers, "dup"])).toBeNull();
  });
});

test("a stalled worker stopped before its heartbeat finds the name taken leaves it to the later start", async () => {
  await using r = await rawRedis();
  const keys = await freshQueue(r);
  const prefix = keys.stream.split(":{")[0]!;
  const t: Task = { name: "t", run: async () => 1 };
  const log = logRecorder();
  // No heartbeat and no claim within the test: nothing tells the worker before its stop.
  const w = await startWorker({
    ...{ prefix, queue: "q", name: "dup", tasks: [t], logger: log },
    ...{ heartbeatEveryMs: 60_000, claimIdleMs: 60_000 },
  });
  await enqueue(r, keys, jobs(1));
  await until(() => w.processed === 1, "its own job finished");
  await takeName(r, keys);
  // W's read, in one script with its entry's add: the stalled worker's blocked read never sees it.
  const deliver =
    "local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV)) " +
    "redis.call('XREADGROUP', 'GROUP', 'workers', 'dup', 'COUNT', '1', 'STREAMS', KEYS[1], '>') " +
    "return id";
  const fields = entryFields("t", "{}", 3);
  const theirs = String(await r.sendCommand(["EVAL", deliver, "1", keys.stream, ...fields]));
  await w.stop(0); // what SIGTERM does
  expect(await pendingOn(r, keys.stream)).toEqual([[theirs, "dup"]]);
  expect(await r.sendCommand(["HGET", keys.worker("dup"), "start"])).toBe("another-start");
  expect(await r.sendCommand(["ZSCORE", keys.workers, "dup"])).toBe("1");
  const said = log.events().filter((e) => e.includes("name taken"));
  expect(said).toEqual(["worker name taken by another start; its jobs left to it"]);
  expect(log.events()).not.toContain("released unfinished jobs");
});
