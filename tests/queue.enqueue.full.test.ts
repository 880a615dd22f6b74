// The library on a full Redis (maxmemory + noeviction): a typed RedisFullError naming the
// limit and the policy, nothing half-written, exact accounting from enqueueStream, waiting for
// room with waitForMemoryS, and a command timeout that is not called "unreachable".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorReply, TimeoutError } from "redis";
import { ConnectError, RedisFullError } from "../lib/errors.ts";
import { RedisFullError as PublicRedisFullError } from "../lib/index.ts";
import { Queue } from "../lib/queue/queue.ts";
import { redisFullError } from "../lib/redis/calls.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { entryJobId } from "./fixtures/engine.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";
import { openQueue, rawRedis, testPrefix, until } from "./helpers.ts";

let small: SmallRedis;
beforeAll(async () => {
  small = await startSmallRedis(4);
});
afterAll(() => small.stop());

async function smallQueue(config: Parameters<typeof Queue.connect>[0] = {}) {
  const q = await Queue.connect({ redisUrl: small.url, prefix: testPrefix(), ...config });
  return Object.assign(q, { [Symbol.asyncDispose]: () => q.close() });
}

const streamIds = async (q: Queue) =>
  (
    (await small.redis.sendCommand(["XRANGE", q.keys.stream, "-", "+"])) as [string, string[]][]
  ).map(entryJobId);

describe("a full Redis", () => {
  test("enqueue throws RedisFullError: one line naming maxmemory and policy, the cause kept", async () => {
    await using q = await smallQueue();
    await small.fill(-256 * 1024); // over the limit: every write is refused
    try {
      const err = await q.enqueue("t", { n: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PublicRedisFullError);
      const full = err as RedisFullError;
      expect(full.code).toBe("EFULL");
      expect(full.message).toBe(
        `Redis at ${small.url} is out of memory (maxmemory 4 MB, policy noeviction): job not enqueued`,
      );
      expect(full.maxmemoryBytes).toBe(4 * 1024 * 1024);
      expect(full.policy).toBe("noeviction");
      expect(full.cause).toBeInstanceOf(ErrorReply);
      expect(String((full.cause as Error).message)).toStartWith("OOM ");
      expect(Number(await small.redis.sendCommand(["EXISTS", q.keys.stream]))).toBe(0);
    } finally {
      await small.free();
    }
  });

  test("a user that may not run CONFIG gets the figures from INFO memory", async () => {
    await small.redis.sendCommand([
      "ACL",
      "SETUSER",
      "producer",
      "on",
      ">pw",
      "~*",
      "+@all",
      "-config",
    ]);
    const url = small.url.replace("redis://", "redis://producer:pw@");
    await using q = await smallQueue({ redisUrl: url });
    await small.fill(-256 * 1024);
    try {
      const err = await q.enqueue("t", 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisFullError);
      expect((err as Error).message).toBe(
        `Redis at ${url.replace(":pw@", ":***@")} is out of memory (maxmemory 4 MB, policy noeviction): job not enqueued`,
      );
    } finally {
      await small.free();
      await small.redis.sendCommand(["ACL", "DELUSER", "producer"]);
    }
  });

  test("when Redis refuses INFO and CONFIG (NOPERM), the error still names the cause", async () => {
    const noperm = () => Promise.reject(new ErrorReply("NOPERM this user has no permissions"));
    const client = { sendCommand: noperm } as unknown as Redis;
    const err = await redisFullError(
      client,
      { redisUrl: "redis://u:secret@h:1", what: "job not enqueued" },
      new ErrorReply("OOM command not allowed"),
    );
    expect(err).toBeInstanceOf(RedisFullError);
    expect(err.message).toBe("Redis at redis://u:***@h:1 is out of memory: job not enqueued");
    expect(err.maxmemoryBytes).toBeUndefined();
  });

  test("enqueueStream yields exactly the batches enqueued, then throws RedisFullError", async () => {
    await using q = await smallQueue({ enqueueBatchSize: 100 });
    await small.fill(300 * 1024); // room for a few hundred jobs, not 20,000
    try {
      const specs = Array.from({ length: 20_000 }, (_, i) => ({ task: "t", payload: i }));
      const yielded: string[] = [];
      let thrown: unknown;
      try {
        for await (const batch of q.enqueueStream(specs)) {
          expect(batch.specs.map((s) => s.payload)).toEqual(
            Array.from({ length: batch.jobs.length }, (_, i) => batch.index + i),
          );
          yielded.push(...batch.jobs.map((j) => j.id));
        }
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RedisFullError);
      expect(yielded.length).toBeGreaterThan(0);
      expect(yielded.length).toBeLessThan(20_000);
      expect(await streamIds(q)).toEqual(yielded);
    } finally {
      await small.free();
    }
  });

  test("waitForMemoryS: a refused enqueue is retried until there is room", async () => {
    await using q = await smallQueue({ waitForMemoryS: 60 });
    await small.fill(-256 * 1024);
    const before = await small.oomRefusals();
    const pending = q.enqueue("t", { n: 1 });
    await until(async () => (await small.oomRefusals()) > before + 1, "a refused retry");
    await small.free();
    const id = await pending;
    expect(await streamIds(q)).toEqual([id]);
  });

  test("waitForMemoryS: a Redis that stays full is tried again for the whole window, then RedisFullError", async () => {
    // The back-off doubles (0.1, 0.2, 0.4, 0.8 s, …): it gave up as soon as the next wait would
    // end past the window, so `--wait-for-memory 3` gave up after 1.5 s, and 10 after 6.3 s.
    await using q = await smallQueue({ waitForMemoryS: 3 });
    await small.fill(-256 * 1024);
    try {
      const started = Date.now();
      const err = await q.enqueue("t", { n: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisFullError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    } finally {
      await small.free();
    }
  });
});

describe("a command timeout", () => {
  test("is reported as no answer in time, not as Redis being unreachable", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    // node-redis rejects a command that waited past its timeout with an empty TimeoutError.
    q.client.sendCommand = (() =>
      Promise.reject(new TimeoutError())) as typeof q.client.sendCommand;
    const err = await q.enqueue("t", 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toContain("did not answer in time (command timeout)");
    expect((err as Error).message).not.toContain("unreachable");
  });

  test("a batch whose reply was lost is sent again, and nothing is enqueued twice", async () => {
    // One shard (on a cluster, one slot): the test loses the reply of the call on q.keys.stream.
    await using q = await openQueue({ prefix: testPrefix(), retryConnectS: 30, shards: 1 });
    await using r = await rawRedis();
    const send = q.client.sendCommand.bind(q.client);
    let lost = 0;
    // The first enqueue script call runs in Redis, then its reply is "lost" (a timeout), once.
    q.client.sendCommand = (async (args: string[], ...rest: unknown[]) => {
      const reply = await (send as (...a: unknown[]) => Promise<unknown>)(args, ...rest);
      const enqueue = args[0]?.startsWith("EVAL") && args.includes(q.keys.stream);
      if (enqueue && lost++ === 0) throw new TimeoutError();
      return reply;
    }) as typeof q.client.sendCommand;
    const done = await q.enqueueMany(
      Array.from({ length: 10 }, (_, i) => ({ task: "t", payload: i })),
    );
    expect(lost).toBe(2);
    // The retry found the batch's receipt: the same ids as the first try, nothing added.
    const entries = (await r.sendCommand(["XRANGE", q.keys.stream, "-", "+"])) as [string][];
    expect(done.map((d) => d.id)).toEqual(entries.map((e) => e[0]));
    expect(done.map((d) => d.created)).toEqual(Array(10).fill(true));
    expect(await r.sendCommand(["XLEN", q.keys.stream])).toBe(10);
  });
});
