// The producer side of a queue of several shards (lib/queue/route.ts, lib/queue/shards.ts), on
// the test Redis (N shards work on one server): auto-id jobs round robin job by job, caller
// ids on shardOf's shard (dedup exact), ids in input order, each read back and waited for on
// its own shard, a lost reply re-sent adding nothing, the layout fixed once written, and reading
// alone writing nothing.
import { describe, expect, test } from "bun:test";
import type { TakenEntry } from "../lib/engine/finish.ts";
import {
  entryOfAutoId,
  GROUP,
  layoutKey,
  type QueueKeys,
  shardKeys,
  shardOf,
} from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import { enqueueBatches, enqueueStream } from "../lib/queue/bulk.ts";
import type { JobSpec } from "../lib/queue/prepare.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { PartialBatchError } from "../lib/queue/route.ts";
import { asClient } from "./fixtures/engine.ts";
import { finishItems } from "./fixtures/finish.ts";
import { lossyProxy } from "./fixtures/lossy-proxy.ts";
import {
  openQueue,
  type RawRedis,
  rawRedis,
  runCli,
  spawnCli,
  testPrefix,
  until,
} from "./helpers.ts";

const N = 6;

async function lengths(r: RawRedis, keys: readonly QueueKeys[]): Promise<number[]> {
  return Promise.all(keys.map(async (k) => Number(await r.sendCommand(["XLEN", k.stream]))));
}

/** The shard an auto id names by its suffix (`<entry id>:<s>`). */
function suffixShard(id: string): number {
  const m = /^\d+-\d+:(\d+)$/.exec(id);
  if (!m) throw new Error(`not a sharded auto id: ${id}`);
  return Number(m[1]);
}

/**
 * Finishes every job waiting in shard `keys` as a worker does (a group read, then finish.lua
 * with the job's full id: its `i`, else the entry id and the shard's suffix).
 */
async function finishAll(r: RawRedis, keys: QueueKeys, result: string): Promise<void> {
  const client = asClient(r);
  await r.sendCommand(["XGROUP", "CREATE", keys.stream, GROUP, "0", "MKSTREAM"]).catch(() => {});
  const read = ["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "100", "STREAMS", keys.stream, ">"];
  const reply = (await r.sendCommand(read)) as [string, TakenEntry[]][] | null;
  const items = (reply?.[0]?.[1] ?? []).map(([entryId, f]) => {
    const get = (name: string) => f[f.indexOf(name) + 1]!;
    const i = f.indexOf("i");
    const jobId = i >= 0 && i % 2 === 0 ? f[i + 1]! : entryId + keys.idSuffix;
    const job = { task: get("t"), payload: get("p"), maxAttempts: Number(get("m")) };
    const run = { attempt: 1, runMs: 1, enqueuedAt: null, worker: "w1", result };
    return { ...job, ...run, entryId, jobId, hasRecord: jobId !== entryId + keys.idSuffix };
  });
  if (items.length === 0) return;
  await finishItems(client, keys, { consumer: "w1", resultTtlS: 600, eventsMaxLen: 1000 }, items);
}

async function sharded(
  prefix = testPrefix(),
): Promise<{ q: Queue & AsyncDisposable; prefix: string; keys: QueueKeys[] }> {
  const q = await openQueue({ prefix, shards: N });
  return { q, prefix, keys: shardKeys(prefix, "default", N) };
}

describe("enqueue over 6 shards", () => {
  test("60,000 auto-id jobs: 10,000 ± 5% in each shard's stream", async () => {
    const { q, keys } = await sharded();
    await using _ = q;
    await using r = await rawRedis();
    const specs = Array.from({ length: 60_000 }, () => ({ task: "t", payload: 0 }));
    const jobs = await q.enqueueMany(specs);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(60_000);
    for (const n of await lengths(r, keys)) {
      expect(n).toBeGreaterThanOrEqual(9_500);
      expect(n).toBeLessThanOrEqual(10_500);
    }
    expect(await r.sendCommand(["HGET", layoutKey(q.options.prefix, "default"), "shards"])).toBe(
      String(N),
    );
  });

  test("producers of one job each (as `trigger --url` is) spread over the shards", async () => {
    const { q: first, prefix } = await sharded();
    await first.close();
    const used = new Set<number>();
    for (let i = 0; i < 30; i++) {
      await using q = await openQueue({ prefix, shards: N });
      used.add(suffixShard(await q.enqueue("t", i)));
    }
    // Each producer starts its round robin at a random shard: all 30 on three shards or fewer
    // would happen about twice in 10^8 runs; every one on shard 0 is what a fixed start gives.
    expect(used.size).toBeGreaterThanOrEqual(4);
  });

  test("ids in input order: auto ids name their shard's entry, caller ids land on shardOf's shard; dedup holds", async () => {
    const { q, keys } = await sharded();
    await using _ = q;
    await using r = await rawRedis();
    const specs = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? { task: "t", payload: i } : { task: "t", payload: i, id: `order-${i}` },
    );
    const jobs = await q.enqueueMany(specs);
    expect(jobs.map((j) => j.created)).toEqual(specs.map(() => true));
    for (const [i, job] of jobs.entries()) {
      const spec = specs[i]!;
      if (spec.id !== undefined) {
        expect(job.id).toBe(spec.id);
        const home = keys[shardOf(spec.id, N)]!;
        expect(await r.sendCommand(["EXISTS", home.record(spec.id)])).toBe(1);
      } else {
        const s = suffixShard(job.id);
        const entry = entryOfAutoId(job.id);
        const found = (await r.sendCommand(["XRANGE", keys[s]!.stream, entry, entry])) as [
          string,
          string[],
        ][];
        expect(found[0]?.[1]).toContain(String(spec.payload));
      }
    }
    // Caller ids spread over shards (not all on one), and a second enqueue adds nothing.
    const homes = new Set(specs.flatMap((s) => (s.id ? [shardOf(s.id, N)] : [])));
    expect(homes.size).toBeGreaterThan(1);
    const before = await lengths(r, keys);
    const again = await q.enqueueMany(specs.filter((s) => s.id !== undefined));
    expect(again.every((j) => !j.created)).toBe(true);
    expect(await lengths(r, keys)).toEqual(before);
  });

  test("a delayed job without an id is kept on the shard of the id it is given", async () => {
    const { q, keys } = await sharded();
    await using _ = q;
    await using r = await rawRedis();
    const id = await q.enqueue("t", 1, { delayMs: 60_000 });
    const s = shardOf(id, N);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(await r.sendCommand(["ZSCORE", keys[s]!.delayed, id])).not.toBeNull();
    expect(await q.getJob(id)).toMatchObject({ id, status: "scheduled", payload: 1 });
  });

  // A proxy stands for one server; a cluster client goes to the nodes' own addresses (CLUSTER
  // SLOTS), past it. The first pass runs this test with 6 shards on one server.
  test.skipIf(process.env.COURIER_TEST_CLUSTER === "1")(
    "a batch whose reply is lost is sent again and adds nothing",
    async () => {
      const prefix = testPrefix();
      await using proxy = await lossyProxy(scripts.enqueue.sha);
      await using q = await openQueue({
        redisUrl: proxy.url,
        prefix,
        shards: N,
        retryConnectS: 10,
      });
      await using r = await rawRedis();
      const jobs = await q.enqueueMany(
        Array.from({ length: 60 }, (_, i) => ({ task: "t", payload: i })),
      );
      expect(proxy.dropped).toBe(1);
      expect(new Set(jobs.map((j) => j.id)).size).toBe(60);
      const counts = await lengths(r, shardKeys(prefix, "default", N));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(60);
      expect(counts).toEqual(Array(N).fill(10));
    },
  );
});

describe("reading back over 6 shards", () => {
  test("getJob reads each job on its shard; an auto id naming no shard is unknown", async () => {
    const { q } = await sharded();
    await using _ = q;
    const specs = Array.from({ length: 12 }, (_, i) =>
      i < 9 ? { task: "t", payload: i } : { task: "t", payload: i, id: `key-${i}` },
    );
    const jobs = await q.enqueueMany(specs);
    for (const [i, job] of jobs.entries()) {
      expect(await q.getJob(job.id)).toMatchObject({ id: job.id, status: "queued", payload: i });
    }
    expect((await q.getJobs(jobs.map((j) => j.id))).map((j) => j?.payload)).toEqual(
      specs.map((s) => s.payload),
    );
    // The entry id alone (no shard named), or a shard past the queue's: no job of it.
    const entry = entryOfAutoId(jobs[0]!.id);
    for (const unknown of [entry, `${entry}:${N}`]) {
      expect(await q.getJob(unknown)).toBeNull();
    }
  });

  test("waitForJobs over several shards: each shard's events, every job ended", async () => {
    const { q, keys } = await sharded();
    await using _ = q;
    await using r = await rawRedis();
    const jobs = await q.enqueueMany(
      Array.from({ length: 2 * N }, (_, i) => ({ task: "t", payload: i })),
    );
    const ids = jobs.map((j) => j.id);
    expect(new Set(ids.map(suffixShard)).size).toBe(N);
    const progress: number[] = [];
    const waited = q.waitForJobs([...ids, `${entryOfAutoId(ids[0]!)}:${N}`], {
      timeoutMs: 20_000,
      onProgress: (ended) => progress.push(ended),
    });
    for (const k of keys) await finishAll(r, k, "42");
    const { ended, pending } = await waited;
    expect(pending).toEqual([]);
    for (const id of ids)
      expect(ended.get(id)).toMatchObject({ id, status: "finished", result: 42 });
    expect(ended.get(`${entryOfAutoId(ids[0]!)}:${N}`)).toBeNull();
    expect(progress.at(-1)).toBe(ids.length + 1);
  });

  test("a wait for jobs just enqueued here blocks from each shard's cursor: no first look", async () => {
    const { q, keys } = await sharded();
    await using _ = q;
    await using r = await rawRedis();
    const jobs = await q.enqueueMany(
      Array.from({ length: N }, (_, i) => ({ task: "t", payload: i })),
    );
    const sent: string[] = [];
    const send = q.client.sendCommand.bind(q.client);
    q.client.sendCommand = ((args: readonly string[]) => {
      sent.push(String(args[0]));
      return send(args);
    }) as typeof q.client.sendCommand;
    const waited = q.waitForJobs(
      jobs.map((j) => j.id),
      { timeoutMs: 20_000 },
    );
    for (const k of keys) await finishAll(r, k, "7");
    const { ended, pending } = await waited;
    expect(pending).toEqual([]);
    expect([...ended.values()].every((j) => j?.status === "finished")).toBe(true);
    expect(sent).toEqual([]); // the look would be XREVRANGE and the status script, per shard
  });

  test("a wait one shard refuses for good (its events key of another type) ends them all", async () => {
    const { q, keys } = await sharded();
    await using _ = q;
    await using r = await rawRedis();
    const jobs = await q.enqueueMany(
      Array.from({ length: N }, (_, i) => ({ task: "t", payload: i })),
    );
    const broken = suffixShard(jobs[0]!.id);
    await r.sendCommand(["DEL", keys[broken]!.events]);
    await r.sendCommand(["SET", keys[broken]!.events, "not a stream"]);
    // A minute's limit: the other shards' waits stop with the refusal, not at their limit (the
    // test's own limit is shorter).
    const waited = q.waitForJobs(
      jobs.map((j) => j.id),
      { timeoutMs: 60_000 },
    );
    await expect(waited).rejects.toBeInstanceOf(RedisRefusedError);
  });

  test("reading alone writes nothing (connect, getJob, getJobs, a wait); the first enqueue records the layout", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, shards: N });
    await using r = await rawRedis();
    expect(await q.getJob("1-0:3")).toBeNull();
    expect(await q.getJobs(["order-1", "1-0"])).toEqual([null, null]);
    const { ended } = await q.waitForJobs(["1-0:2", "x"], { timeoutMs: 0 });
    expect([...ended.values()]).toEqual([null, null]);
    expect(await r.sendCommand(["KEYS", `${prefix}:*`])).toEqual([]);
    const id = await q.enqueue("t", 1);
    expect(await r.sendCommand(["HGET", layoutKey(prefix, "default"), "shards"])).toBe(String(N));
    expect(await q.getJob(id)).toMatchObject({ id, status: "queued" });
  });
});

describe("the CLIs over 6 shards", () => {
  test("trigger --shards 6 --file: ids in input order, spread over the shards; result --jobid reads each", async () => {
    const prefix = testPrefix();
    const urls = Array.from({ length: 12 }, (_, i) => `https://example.org/p/${i}`);
    const t = await runCli(
      "trigger",
      ["--prefix", prefix, "--shards", "6", "--file", "-", "--json"],
      {
        stdin: `${urls.join("\n")}\n`,
      },
    );
    expect(t.code).toBe(0);
    const lines = t.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.url)).toEqual(urls);
    const shardsUsed = lines.map((l) => suffixShard(l.id));
    expect(shardsUsed.filter((s) => s === 0).length).toBe(2);
    expect(new Set(shardsUsed).size).toBe(N);
    for (const { id, url } of lines.slice(0, 3)) {
      const r = await runCli("result", ["--prefix", prefix, "--jobid", id, "--json"]);
      expect(r.code).toBe(3); // not finished yet
      expect(JSON.parse(r.stdout)).toMatchObject({ id, status: "queued", payload: { url } });
    }
    // Without --shards (or COURIER_SHARDS) the queue's own count is used.
    const again = await runCli("trigger", ["--prefix", prefix, "--url", "https://example.org/x"], {
      env: { COURIER_SHARDS: "" },
    });
    expect(again.code).toBe(0);
    expect(suffixShard(again.stdout.trim())).toBeGreaterThanOrEqual(0);
  });

  test("trigger --shards 6 --file --wait: waits on every shard, prints each result in input order", async () => {
    const prefix = testPrefix();
    const keys = shardKeys(prefix, "default", N);
    await using r = await rawRedis();
    const urls = Array.from({ length: 12 }, (_, i) => `https://example.org/w/${i}`);
    const args = ["--prefix", prefix, "--shards", "6", "--file", "-", "--wait", "30", "--json"];
    const proc = spawnCli("trigger", args, { stdin: `${urls.join("\n")}\n` });
    const total = async () => (await lengths(r, keys)).reduce((a, b) => a + b, 0);
    await until(async () => (await total()) === urls.length, "the jobs enqueued");
    for (const k of keys) await finishAll(r, k, JSON.stringify({ words: 5 }));
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.payload.url)).toEqual(urls);
    expect(lines.every((l) => l.status === "finished" && l.result.words === 5)).toBe(true);
    expect(new Set(lines.map((l) => suffixShard(l.id))).size).toBe(N);
  });

  test("result --jobid after the job finished on its shard: exit 0", async () => {
    const { q, prefix, keys } = await sharded();
    await using _ = q;
    await using r = await rawRedis();
    const id = await q.enqueue("t", { url: "https://example.org/" });
    await finishAll(r, keys[suffixShard(id)]!, JSON.stringify({ words: 3 }));
    const res = await runCli("result", ["--prefix", prefix, "--jobid", id, "--json"]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ id, status: "finished", result: { words: 3 } });
  });

  test.each([
    ["--shards 3", ["--shards", "3"], {}],
    ["COURIER_SHARDS=3", [], { COURIER_SHARDS: "3" }],
  ])("trigger %s on a 6-shard queue: exit 2, one line, nothing enqueued", async (_, flag, env) => {
    const { q, prefix, keys } = await sharded();
    await using __ = q;
    await using r = await rawRedis();
    await q.enqueue("t", 1);
    const before = await lengths(r, keys);
    const res = await runCli(
      "trigger",
      ["--prefix", prefix, ...flag, "--url", "https://example.org/"],
      {
        env,
      },
    );
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    const [line, ...rest] = res.stderr.trimEnd().split("\n");
    expect(line).toBe(
      `trigger: queue "default" (prefix ${prefix}) has 6 shards, not 3: the count is fixed when a queue is created (leave out --shards, or use another --queue)`,
    );
    expect(rest.every((l) => !/^\s+at /.test(l))).toBe(true);
    expect(await lengths(r, keys)).toEqual(before);
  });
});

describe("a batch whose shards answered differently (lib/queue/bulk.ts)", () => {
  test("is reported as runs in input order: enqueued, refused, enqueued; the stream then throws", async () => {
    const refusal = new Error("refused");
    const jobs = [0, 1, 2, 3, 4].map((n) =>
      n === 1 || n === 4 ? null : { id: `j${n}`, created: true },
    );
    const sender = {
      batchSize: 5,
      prepare: (spec: JobSpec) => ({ task: String(spec.task), payload: "0", maxAttempts: 1 }),
      send: async () => {
        throw new PartialBatchError(jobs, refusal);
      },
    };
    const specs = [0, 1, 2, 3, 4].map((n) => ({ task: "t", payload: n }));
    const outcomes = [];
    for await (const o of enqueueBatches(specs, sender)) outcomes.push(o);
    expect(outcomes.map((o) => [o.index, o.specs.length, o.ok])).toEqual([
      [0, 1, true],
      [1, 1, false],
      [2, 2, true],
      [4, 1, false],
    ]);
    expect(outcomes[2]).toMatchObject({ jobs: [{ id: "j2" }, { id: "j3" }] });
    expect(outcomes[1]).toMatchObject({ error: refusal });
    const yielded: string[] = [];
    const stream = enqueueStream(enqueueBatches(specs, sender));
    const err = await (async () => {
      for await (const b of stream) yielded.push(...b.jobs.map((j) => j.id));
    })().catch((e: unknown) => e);
    expect(err).toBe(refusal);
    expect(yielded).toEqual(["j0", "j2", "j3"]);
  });
});
