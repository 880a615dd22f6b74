// The worker on the v2 engine (docs/internals.md): plain reads with nothing written at start,
// the finish taking the next job below 16 slots (one script call per job at concurrency 1),
// own pending entries read again without an attempt spent.
import { describe, expect, test } from "bun:test";
import { entryFields } from "../lib/engine/entry.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { parseOutcome } from "../lib/engine/outcome.ts";
import { onNodeOf } from "../lib/redis/cluster.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import type { Task } from "../lib/types.ts";
import { asClient, enqueue, freshQueue, jobs } from "./fixtures/engine.ts";
import { nodeUrlOf, pinShards, rawRedis, startWorker, until } from "./helpers.ts";

// These tests build a queue of one shard by hand (freshQueue) and count its calls: its workers
// read one shard (on a cluster: one slot, one node).
pinShards(1);

const echo: Task = { name: "t", run: async (p) => p };

async function outcome(r: { sendCommand(a: string[]): Promise<unknown> }, key: string) {
  const v = await r.sendCommand(["GET", key]);
  return typeof v === "string" ? parseOutcome(v) : null;
}

describe("worker taking jobs", () => {
  test("runs entries and records each result once", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(20));
    const w = await startWorker({ prefix, queue: "q", tasks: [echo], concurrency: 32 });
    await until(async () => w.processed === 20, "20 jobs finished");
    await w.stop();
    for (const [i, g] of got.entries()) {
      const o = await outcome(r, keys.result(g.id));
      expect(o?.status).toBe("finished");
      expect(o?.text).toBe(JSON.stringify({ n: i }));
      expect(o?.attempt).toBe(1);
      expect(o?.worker).toBe(w.name);
    }
    const stats = (await r.sendCommand(["HGETALL", keys.stats])) as string[];
    const s = Object.fromEntries(stats.flatMap((v, i) => (i % 2 ? [] : [[v, stats[i + 1]]])));
    expect(s.finished).toBe("20");
    expect(s.started).toBe("20");
  });
});

/**
 * Top-level commands Redis ran for keys under `prefix` while `during` ran, by name (MONITOR:
 * commands a script runs are tagged `lua` and left out, unlike INFO commandstats, which counts
 * an XREADGROUP inside the finish script the same as one sent by the worker).
 */
async function topLevelCalls(prefix: string, during: () => Promise<void>) {
  // MONITOR is node-redis' own (one server's client), not part of Courier's Redis interface.
  const m = (await connect(await nodeUrlOf(queueKeys(prefix, "q").stream))) as Redis & {
    monitor: (listener: (line: string) => void) => Promise<void>;
  };
  const calls = new Map<string, number>();
  await m.monitor((line: string) => {
    if (!line.includes(prefix) || / \[\d+ lua\] /.test(line)) return;
    const name = /\] "([a-zA-Z]+)"/.exec(line)?.[1]?.toUpperCase() ?? "?";
    calls.set(name, (calls.get(name) ?? 0) + 1);
  });
  try {
    await during();
  } finally {
    m.destroy();
  }
  return calls;
}

describe("concurrency 1: the finish takes the next job", () => {
  test("100 queued jobs cost about one script call each, and no read of their own", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    await enqueue(r, keys, jobs(100));
    const timers = { heartbeatEveryMs: 60_000, promoteEveryMs: 60_000, claimIdleMs: 60_000 };
    // prefetch 0: one finish per job (with prefetch two ends may share a call, below).
    const o = { prefix, queue: "q", tasks: [echo], concurrency: 1, prefetch: 0, ...timers };
    const calls = await topLevelCalls(prefix, async () => {
      const w = await startWorker(o);
      await until(() => w.processed === 100, "100 jobs finished");
      await w.stop();
    });
    const evalsha = calls.get("EVALSHA") ?? 0;
    const reads = calls.get("XREADGROUP") ?? 0;
    // 100 finishes (the last takes nothing), plus the start's and stop's few calls. Reading
    // apart from the finish would be 100 XREADGROUP more.
    expect(evalsha).toBeGreaterThanOrEqual(100);
    expect(evalsha).toBeLessThan(110);
    expect(reads).toBeLessThan(5);
  });

  test("with prefetch 1 too: at most one script call per job, and no read of their own", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    await enqueue(r, keys, jobs(100));
    const timers = { heartbeatEveryMs: 60_000, promoteEveryMs: 60_000, claimIdleMs: 60_000 };
    const o = { prefix, queue: "q", tasks: [echo], concurrency: 1, prefetch: 1, ...timers };
    const calls = await topLevelCalls(prefix, async () => {
      const w = await startWorker(o);
      await until(() => w.processed === 100, "100 jobs finished");
      await w.stop();
    });
    // The held entry is taken by the finishes as well: no read per job, no give-back.
    expect(calls.get("EVALSHA") ?? 0).toBeLessThan(110);
    expect(calls.get("XREADGROUP") ?? 0).toBeLessThan(5);
  });
});

/** The id of the connection named `name` (CLIENT LIST), once it is blocked in a read. */
async function blockedReader(r: { sendCommand(a: string[]): Promise<unknown> }, name: string) {
  let id = "";
  await until(async () => {
    const list = String(await r.sendCommand(["CLIENT", "LIST"])).split("\n");
    const line = list.find((l) => l.includes(` name=${name} `) && l.includes("cmd=xreadgroup"));
    id = line ? (/^id=(\d+)/.exec(line)?.[1] ?? "") : "";
    return id !== "";
  }, `${name} blocked in a read`);
  return id;
}

describe("own pending entries after a lost read", () => {
  test("are run at once, and cost no attempt", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    // The lease is long: only reading its own pending entries lets w1 find the job now.
    const w = await startWorker({
      prefix,
      queue: "q",
      name: "w1",
      tasks: [echo],
      claimIdleMs: 60_000,
    });
    // CLIENT LIST and CLIENT KILL on the server holding the queue (on a cluster, its node).
    const node = onNodeOf(asClient(r), keys.stream);
    const reader = await blockedReader(node, "courier-reader-w1");
    // A read whose reply never reached w1: the entry is added and read as w1 in one script,
    // so w1's blocked read never sees it; it is pending on w1, unseen.
    const lost =
      "local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV)) " +
      "redis.call('XREADGROUP', 'GROUP', 'workers', 'w1', 'COUNT', '1', 'STREAMS', KEYS[1], '>') " +
      "return id";
    const fields = entryFields("t", JSON.stringify({ n: 0 }), 3);
    const id = String(await r.sendCommand(["EVAL", lost, "1", keys.stream, ...fields]));
    // Its connection drops: the read failed, as far as w1 knows.
    await node.sendCommand(["CLIENT", "KILL", "ID", reader]);
    await until(() => w.processed === 1, "the job finished");
    await w.stop();
    const o = await outcome(r, keys.result(id));
    expect(o).toMatchObject({ status: "finished", attempt: 1 });
    expect(await r.sendCommand(["EXISTS", keys.record(id)])).toBe(0); // no abandoned run
  });
});
