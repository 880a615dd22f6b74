// Redis killed (SIGKILL) and started again on the same AOF, while a worker runs: producers
// hear a clear error while it is down (or wait when asked to), the worker rides it out, and
// every job whose enqueue was acknowledged is processed after the restart.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { ConnectError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { connect } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { defineTask } from "../lib/types.ts";
import { logRecorder, startWorker, testPrefix, until } from "./helpers.ts";

let dataDir = "";
let port = 0;
let server: RedisServer | null = null;
const start = async () => {
  server = await startRedisServer({ port, dataDir, persistence: true });
  return server;
};

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "courier-restart-"));
  port = await findFreePort();
  await start();
});

afterEach(async () => {
  await server?.stop(2_000);
  rmSync(dataDir, { recursive: true, force: true });
});

/** Writes and fsyncs everything Redis has acknowledged so far (`always` flushes the AOF buffer). */
async function makeDurable(redisUrl: string): Promise<void> {
  const admin = await connect(redisUrl);
  await admin.sendCommand(["CONFIG", "SET", "appendfsync", "always"]);
  await admin.sendCommand(["CONFIG", "SET", "appendfsync", "everysec"]);
  admin.destroy();
}

/**
 * With Redis back: a worker runs the job (`work`, payload 7), and the wait under way answers its
 * result; then the Queue is closed.
 */
async function expectRunOnceBack(q: Queue, waited: ReturnType<Queue["waitForJobs"]>, id: string) {
  const work = defineTask({ name: "work", run: async (n: number) => n });
  // The queue is the one shard Queue.connect made on this file's own server.
  const redisUrl = server!.url;
  const w = await startWorker({ prefix: q.options.prefix, redisUrl, tasks: [work], shards: 1 });
  const { ended } = await waited;
  expect(ended.get(id)?.result).toBe(7);
  await w.stop();
  await q.close();
}

describe("Redis restart", () => {
  test("every acknowledged job is processed after Redis is killed and restarted", async () => {
    const prefix = testPrefix();
    const redisUrl = server!.url;
    const q = await Queue.connect({ redisUrl, prefix });
    let runs = 0;
    const work = defineTask({
      name: "work",
      run: async (n: number) => {
        runs++;
        await Bun.sleep(2);
        return n;
      },
    });
    const log = logRecorder();
    const w = await startWorker({
      prefix,
      redisUrl,
      tasks: [work],
      concurrency: 8,
      commandTimeoutMs: 2_000,
      logger: log,
    });
    const acked = (
      await q.enqueueMany(Array.from({ length: 400 }, (_, i) => ({ task: "work", payload: i })))
    ).map((e) => e.id);
    // With everysec a busy disk holds the AOF's writes back for a second or two, and the kill
    // then loses acknowledged jobs (seen under load: 392 of 400 read as unknown). Made durable
    // here; what the worker writes after it may still be lost, which it must cope with.
    await makeDurable(redisUrl);
    await until(() => runs > 20, "some jobs to run");
    server!.kill();
    await server!.exited;

    // While Redis is down, a producer gets a clear error at once, not a hang.
    const down = await q.enqueue("work", -1).catch((e) => e);
    expect(down).toBeInstanceOf(ConnectError);
    expect(down.message).toContain(`Redis at ${redisUrl} is unreachable`);

    await start();
    const { pending } = await q.waitForJobs(acked, { timeoutMs: 20_000 });
    // Seen once under load: 392 of 400 still queued after 20 s (the run takes 0.5 s). A job
    // lost with the AOF's last second would read as unknown, which ends the wait: that was a
    // worker not going on. What it was doing, for the next time it happens:
    if (pending.length > 0) {
      const seen = log.records.map(
        (r) => `${r.at} ${r.level} ${r.event} ${JSON.stringify(r.fields)}`,
      );
      const stuck = { pending: pending.length, inFlight: w.inFlight, problem: w.problem() };
      console.error(`worker did not go on: ${JSON.stringify(stuck)}\n${seen.join("\n")}`);
    }
    expect(pending).toEqual([]);
    const jobs = await q.getJobs(acked);
    // `?? "unknown"`: toEqual takes undefined array items for missing ones.
    expect(jobs.map((j) => j?.status ?? "unknown").filter((s) => s !== "finished")).toEqual([]);
    expect(jobs.map((j) => j?.result)).toEqual(acked.map((_, i) => i));
    await w.stop();
    await q.close();
  });

  test("a wait begun while Redis is down waits for it to come back", async () => {
    const redisUrl = server!.url;
    const prefix = testPrefix();
    const q = await Queue.connect({ redisUrl, prefix });
    const id = await q.enqueue("work", 7);
    // Its waiting connection is kept for the next (a wait's time bounds its connect: time to open).
    await q.waitForJobs([id], { timeoutMs: 300 });
    await server!.stop(2_000);
    const waited = q.waitForJobs([id], { timeoutMs: 15_000 });
    await start();
    await expectRunOnceBack(q, waited, id);
  });

  // The same with no waiting connection kept: the wait must open one while Redis is down. That
  // open failed the wait at once ("cannot connect"), where a wait's failed reads go on until
  // its time is up; now it is retried (told to onError), and the wait answers once Redis is back.
  test("a Queue's first wait, begun while Redis is down, opens its connection once Redis is back", async () => {
    const redisUrl = server!.url;
    const prefix = testPrefix();
    const q = await Queue.connect({ redisUrl, prefix });
    const id = await q.enqueue("work", 7);
    await server!.stop(2_000);
    const errors: unknown[] = [];
    const waited = q.waitForJobs([id], { timeoutMs: 15_000, onError: (e) => errors.push(e) });
    await until(() => errors.length > 0, "a failed connect told to onError");
    await start();
    await expectRunOnceBack(q, waited, id);
  });

  test("a first wait whose time runs out while Redis is down: its jobs pending, no error", async () => {
    const redisUrl = server!.url;
    const q = await Queue.connect({ redisUrl, prefix: testPrefix() });
    const id = await q.enqueue("work", 1);
    await server!.stop(2_000);
    expect(await q.waitForJobs([id], { timeoutMs: 300 })).toEqual({
      ended: new Map(),
      pending: [id],
    });
    await q.close();
  });

  // The time spent opening the connection counts against the wait's limit: a wait of 2 s
  // whose connection opened after 1.2 s ends at 2 s, not 1.2 + 2 s.
  test("a first wait's time limit includes the time its connection took to open", async () => {
    const redisUrl = server!.url;
    const q = await Queue.connect({ redisUrl, prefix: testPrefix() });
    const id = await q.enqueue("work", 1); // no worker: it never ends
    await server!.stop(2_000);
    const began = performance.now();
    const waited = q.waitForJobs([id], { timeoutMs: 2_000 });
    await Bun.sleep(1_200); // Redis away this long: the open is tried again meanwhile
    await start();
    expect(await waited).toEqual({ ended: new Map(), pending: [id] });
    const tookMs = performance.now() - began;
    expect(tookMs).toBeGreaterThanOrEqual(1_900);
    expect(tookMs).toBeLessThan(3_000); // its own 2 s again after the open: 3.2 s and more
    await q.close();
  });

  test("a producer asked to retry waits for Redis to come back, then enqueues", async () => {
    const redisUrl = server!.url;
    const q = await Queue.connect({ redisUrl, prefix: testPrefix(), retryConnectS: 15 });
    await server!.stop(2_000);
    const enqueued = q.enqueue("work", 1);
    await Bun.sleep(300); // Redis stays down a while: the call must wait, not fail
    await start();
    const id = await enqueued;
    expect((await q.getJob(id))?.status).toBe("queued");
    await q.close();
  });

  // Queue.events() (lib/queue/events.ts): reads that fail while Redis is away are told to
  // onError and retried; the event written after the restart arrives, with no gap (the AOF kept
  // the entry the reader was at).
  test("an events iterator waiting through a restart gets the next event, no gap", async () => {
    const url = server!.url;
    const q = await Queue.connect({ redisUrl: url, prefix: testPrefix(), reconnectMaxMs: 200 });
    try {
      await q.client.sendCommand(["XADD", q.keys.events, "*", "type", "finished", "ids", "a"]);
      const errors: unknown[] = [];
      const events = q.events({ onError: (e) => errors.push(e), blockMs: 100 });
      await events.cursor();
      const next = events.next();
      await server!.stop(5_000);
      await until(() => errors.length > 0, "a failed read told to onError");
      await start();
      const r = await connect(url);
      await r.sendCommand(["XADD", q.keys.events, "*", "type", "failed", "id", "b"]);
      r.destroy();
      const got = await next;
      expect(got.done).toBe(false);
      expect(got.value).toMatchObject({ type: "failed", id: "b" });
      events.close();
    } finally {
      await q.close();
    }
  });
});

// R-187, a regression review of the open retry above: a refused login was retried to the
// deadline (for ever with Infinity), close() meanwhile answered the connect error, and on two
// shards one shard's refusal for good did not end the other's retry.
describe("a wait's connection that cannot open", () => {
  test("refused (WRONGPASS): the wait fails at once, not retried to its deadline", async () => {
    const admin = await connect(server!.url);
    await admin.sendCommand(["ACL", "SETUSER", "waiter", "on", ">first", "~*", "&*", "+@all"]);
    const q = await Queue.connect({
      redisUrl: server!.url.replace("redis://", "redis://waiter:first@"),
      prefix: testPrefix(),
    });
    const id = await q.enqueue("work", 1);
    // Its open connection stays logged in; a new one is refused.
    await admin.sendCommand(["ACL", "SETUSER", "waiter", "resetpass", ">second"]);
    const errors: unknown[] = [];
    const waited = q.waitForJobs([id], { timeoutMs: Infinity, onError: (e) => errors.push(e) });
    const answer = await Promise.race([
      waited.then(
        () => "answered",
        (err: Error) => err.message,
      ),
      Bun.sleep(5_000).then(() => "still waiting after 5 s"),
    ]);
    expect(answer).toMatch(/WRONGPASS/);
    expect(errors).toEqual([]);
    await q.close();
    admin.destroy();
  });

  test("close() while it is tried again: the wait is refused as closed", async () => {
    const q = await Queue.connect({ redisUrl: server!.url, prefix: testPrefix() });
    const id = await q.enqueue("work", 1);
    await server!.stop(2_000);
    const errors: unknown[] = [];
    const waited = q.waitForJobs([id], { timeoutMs: Infinity, onError: (e) => errors.push(e) });
    waited.catch(() => {});
    await until(() => errors.length > 0, "a failed open told");
    await q.close();
    await expect(waited).rejects.toThrow(/this Queue is closed/);
  });

  test("two shards: one refused for good ends the other's retry at once", async () => {
    const admin = await connect(server!.url);
    const prefix = testPrefix();
    const q = await Queue.connect({ redisUrl: server!.url, prefix, queue: "h", shards: 2 });
    const ids: string[] = [];
    while (![0, 1].every((s) => ids.some((id) => shardOf(id, 2) === s))) {
      ids.push(await q.enqueue("work", 1));
    }
    const [a, b] = [0, 1].map((s) => ids.find((id) => shardOf(id, 2) === s)!);
    // One waiting connection kept: shard 0's (a wait's time bounds its connect: time to open).
    await q.waitForJobs([a!], { timeoutMs: 300 });
    for (const k of shardKeys(prefix, "h", 2)) {
      await admin.sendCommand(["DEL", k.events]);
      await admin.sendCommand(["SET", k.events, "not a stream"]); // refused for good
    }
    // No new connection can open (a transient failure, tried again): shard 1's wait retries.
    const info = String(await admin.sendCommand(["INFO", "clients"]));
    const connected = Number(/connected_clients:(\d+)/.exec(info)![1]);
    await admin.sendCommand(["CONFIG", "SET", "maxclients", String(connected)]);
    const answer = await Promise.race([
      q.waitForJobs([a!, b!], { timeoutMs: Infinity }).then(
        () => "answered",
        (err: Error) => err.constructor.name,
      ),
      Bun.sleep(5_000).then(() => "still waiting after 5 s"),
    ]);
    expect(answer).toBe("RedisRefusedError");
    await admin.sendCommand(["CONFIG", "SET", "maxclients", "10000"]);
    await q.close();
    admin.destroy();
  });
});
