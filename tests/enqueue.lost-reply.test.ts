// A write whose reply is lost (Redis did it, then the connection dropped before its answer came
// back): the producer says the jobs may have been enqueued, and closing a client that had begun
// reconnecting leaves no connection behind, so `trigger` exits instead of running for ever.
import { beforeAll, describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { DATA_FORMAT, queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { LostReplyError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { Worker } from "../lib/worker/worker.ts";
import { lossyProxy } from "./fixtures/lossy-proxy.ts";
import { rawRedis, runCli, testPrefix, until } from "./helpers.ts";

async function streamLength(prefix: string): Promise<number> {
  await using r = await rawRedis();
  return Number(await r.sendCommand(["XLEN", queueKeys(prefix, "default").stream]));
}

/** The reconnection node-redis began when the reply was lost is closed too. */
async function noConnectionLeft(proxy: { accepted: number; open: number }): Promise<void> {
  await until(() => proxy.accepted >= 2, "the client's reconnection");
  await until(() => proxy.open === 0, "no connection left open");
}

beforeAll(async () => {
  // Loaded, so the lost reply is the script's own and not a NOSCRIPT (the jobs are added).
  await using r = await rawRedis();
  await r.sendCommand(["SCRIPT", "LOAD", scripts.enqueue.source]);
});

describe("an enqueue whose reply is lost", () => {
  test("enqueueMany throws LostReplyError, and close() leaves no connection", async () => {
    const prefix = testPrefix();
    await using proxy = await lossyProxy(scripts.enqueue.sha);
    const q = await Queue.connect({ redisUrl: proxy.url, prefix });
    const specs = [1, 2].map((n) => ({ task: "t", payload: n }));
    const err = await q.enqueueMany(specs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LostReplyError);
    expect((err as Error).message).toContain(
      "the batch of 2 jobs may or may not have been enqueued",
    );
    await q.close();
    await noConnectionLeft(proxy);
    expect(proxy.dropped).toBe(1);
    expect(await streamLength(prefix)).toBe(2);
  });

  test("the queue's first enqueue: its data format is written with the jobs all the same", async () => {
    const prefix = testPrefix();
    await using proxy = await lossyProxy(scripts.enqueue.sha);
    const q = await Queue.connect({ redisUrl: proxy.url, prefix });
    await expect(q.enqueue("t", 1)).rejects.toBeInstanceOf(LostReplyError);
    await q.close();
    await using r = await rawRedis();
    const meta = queueKeys(prefix, "default").meta;
    expect(await r.sendCommand(["HGET", meta, "format"])).toBe(String(DATA_FORMAT));
    expect(await streamLength(prefix)).toBe(1);
  });

  test.each([
    ["--url", ["--url", "example.org/x"], "", "the job may or may not have been enqueued", 1],
    ["--file -", ["--file", "-"], "example.org/a\nexample.org/b\n", "the batch of 2 jobs may", 2],
  ])(
    "trigger %s: exit 6, saying it may be enqueued and how to re-send safely",
    async (_, args, stdin, maybe, jobs) => {
      const prefix = testPrefix();
      await using proxy = await lossyProxy(scripts.enqueue.sha);
      const r = await runCli("trigger", ["--prefix", prefix, ...args], {
        env: { REDIS_URL: proxy.url },
        stdin,
        timeoutMs: 15_000,
      });
      expect(r.code).toBe(6);
      expect(r.stdout).toBe("");
      const first = r.stderr.split("\n")[0]!;
      expect(first).toContain(maybe);
      expect(first).toContain("is unreachable: Socket closed unexpectedly, before it answered");
      expect(first).toContain("with --retry-connect SECONDS, trigger sends");
      expect(first).toContain("its receipt makes the re-send add nothing");
      expect(await streamLength(prefix)).toBe(jobs);
    },
  );

  test("trigger --retry-connect sends it again: enqueued once, exit 0", async () => {
    const prefix = testPrefix();
    await using proxy = await lossyProxy(scripts.enqueue.sha);
    const r = await runCli(
      "trigger",
      ["--prefix", prefix, "--retry-connect", "20", "example.org/x"],
      {
        env: { REDIS_URL: proxy.url },
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(proxy.dropped).toBe(1);
    expect(await streamLength(prefix)).toBe(1);
  });
});

describe("closing a client that lost its connection", () => {
  test("Admin.close() leaves no connection", async () => {
    await using proxy = await lossyProxy("lose-this-reply");
    const admin = await Admin.connect({ redisUrl: proxy.url, prefix: testPrefix() });
    const err = await admin.client.sendCommand(["ECHO", "lose-this-reply"]).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    await admin.close();
    await noConnectionLeft(proxy);
  });

  test("Worker.stop() leaves no connection", async () => {
    await using proxy = await lossyProxy();
    const w = await Worker.start({
      redisUrl: proxy.url,
      prefix: testPrefix(),
      tasks: [],
      blockMs: 50,
    });
    const before = proxy.accepted;
    proxy.arm(scripts.release.sha); // the worker's leave, at its stop (release.lua)
    await w.stop(0);
    expect(proxy.dropped).toBe(1);
    await until(() => proxy.accepted > before, "the client's reconnection");
    await until(() => proxy.open === 0, "no connection left open");
  });
});
