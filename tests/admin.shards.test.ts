// The operator's views of a queue of 6 shards (written by hand, tests/fixtures/sharded.ts): info,
// dead letters, /metrics and the dashboard show the shards' sums and merge their lists; a
// dead job is requeued in its own shard only; discovery lists the queue once, not its shards.
import { afterEach, describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { keySlot } from "../lib/redis/slot.ts";
import { deadEntries, perShard, shardedQueue, total } from "./fixtures/sharded.ts";
import { onOneServer, type RawRedis, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

const N = 6;
const args = (prefix: string) => ["--redis-url", redisUrl(), "--prefix", prefix];
/** The node serving `slot`: the one server, or on a cluster (the cluster pass) its master's. */
async function nodeOf(r: RawRedis, slot: number): Promise<string> {
  if (onOneServer) {
    const url = new URL(redisUrl());
    return `${url.hostname}:${url.port}`;
  }
  const ranges = (await r.sendCommand(["CLUSTER", "SLOTS"])) as [
    number,
    number,
    [string, number],
  ][];
  const [, , [host, port]] = ranges.find(([lo, hi]) => lo <= slot && slot <= hi)!;
  return `${host}:${port}`;
}

/** Every letter's job id, newest first: by entry id, then the higher shard first. */
function lettersNewestFirst(): string[] {
  return deadEntries()
    .reverse()
    .flatMap((e) => Array.from({ length: N }, (_, i) => `${e}:${N - 1 - i}`));
}

describe("a queue of 6 shards", () => {
  test("its numbers and workers are the shards' sums", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    await shardedQueue(r, prefix, "q", N);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
    try {
      const { counts, shards, series } = await admin.overview();
      expect(shards).toBe(N);
      expect(counts).toMatchObject({
        waiting: total(perShard.waiting, N),
        inFlight: N,
        delayed: total(perShard.delayed, N),
        dead: 2 * N,
        finished: { lastHour: total(perShard.finished, N) },
      });
      expect(counts.totals).toMatchObject({ finished: total(perShard.finished, N), dead: 2 * N });
      expect(series.reduce((n, p) => n + p.finished, 0)).toBe(total(perShard.finished, N));
      expect(await admin.workers()).toEqual([
        expect.objectContaining({ name: "w1", inFlight: N, processed: 2 * N, state: "busy" }),
      ]);
      expect(await admin.exists()).toBe(true);
    } finally {
      await admin.close();
    }
  });

  test("info shows the sums, the shard count and each shard's slot and node", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const keys = await shardedQueue(r, prefix, "q", N);
    const json = await runCli("info", [...args(prefix), "--queue", "q", "--json"]);
    expect(json.code).toBe(0);
    const [report] = JSON.parse(json.stdout).queues;
    expect(report).toMatchObject({ queue: "q", waiting: total(perShard.waiting, N), shards: N });
    const placement = [];
    for (const k of keys) {
      const slot = keySlot(k.stream);
      placement.push({ shard: k.shard, slot, node: await nodeOf(r, slot) });
    }
    expect(report.placement).toEqual(placement);

    const text = await runCli("info", [...args(prefix), "--queue", "q"]);
    expect(text.stdout).toContain(`waiting ${total(perShard.waiting, N)}   in flight ${N}`);
    expect(text.stdout).toContain(`  shards     ${N} (the numbers are their sums)`);
    const rows = text.stdout.split("\n").filter((l) => /^ {4}\d+ +\d+ +\S+$/.test(l));
    expect(rows.map((l) => l.trim().split(/ +/))).toEqual(
      placement.map((p) => [String(p.shard), String(p.slot), p.node]),
    );
  });

  test("info without --queue lists it once, not its shards' tags", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    await shardedQueue(r, prefix, "q", N);
    await r.sendCommand(["XADD", queueKeys(prefix, "plain").stream, "*", "t", "t"]);
    const res = await runCli("info", [...args(prefix), "--json"]);
    expect(res.code).toBe(0);
    const queues = JSON.parse(res.stdout).queues;
    expect(queues.map((q: { queue: string }) => q.queue)).toEqual(["plain", "q"]);
    expect(queues.map((q: { shards: number }) => q.shards)).toEqual([1, N]);
  });

  test("dead list pages through every shard, newest first, each letter once", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    await shardedQueue(r, prefix, "q", N);
    const seen: string[] = [];
    let cursor: string[] = [];
    for (let page = 0; page < 2 * N; page++) {
      const res = await runCli("dead", [
        "list",
        ...args(prefix),
        "--queue",
        "q",
        "--limit",
        "5",
        "--json",
        ...cursor,
      ]);
      expect(res.code).toBe(0);
      const body = JSON.parse(res.stdout);
      expect(body.total).toBe(2 * N);
      seen.push(...body.letters.map((l: { id: string }) => l.id));
      if (body.next === null) break;
      cursor = ["--cursor", body.next];
    }
    expect(seen).toEqual(lettersNewestFirst());
  });

  test("requeue of a dead job on shard 4 touches shard 4 only", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const keys = await shardedQueue(r, prefix, "q", N);
    const lengths = async (key: "stream" | "dead") =>
      Promise.all(keys.map((k) => r.sendCommand(["XLEN", k[key]])));
    const [streams, dead] = [await lengths("stream"), await lengths("dead")];
    const id = `${deadEntries()[0]}:4`;
    const res = await runCli("dead", ["requeue", ...args(prefix), "--queue", "q", id]);
    expect(res.code).toBe(0);
    expect(await lengths("stream")).toEqual(streams.map((n, s) => (s === 4 ? n + 1 : n)));
    expect(await lengths("dead")).toEqual(dead.map((n, s) => (s === 4 ? n - 1 : n)));
    const [entry] = await r.sendCommand(["XREVRANGE", keys[4]!.stream, "+", "-", "COUNT", "1"]);
    expect(entry[1]).toContain(id);
  });

  test.each(["requeue", "purge"])("%s --all goes through every shard", async (command) => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const keys = await shardedQueue(r, prefix, "q", N);
    const res = await runCli("dead", [command, "--all", ...args(prefix), "--queue", "q", "--json"]);
    expect(JSON.parse(res.stdout)).toEqual({ [`${command}d`]: 2 * N });
    const dead = await Promise.all(keys.map((k) => r.sendCommand(["XLEN", k.dead])));
    expect(dead).toEqual(keys.map(() => 0));
  });
});

describe("the dashboard and /metrics of a queue of 6 shards", () => {
  const running: Dashboard[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((d) => d.stop()));
  });

  test("overview, queues, dead pages and metrics are the shards' sums", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    await shardedQueue(r, prefix, "q", N);
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, queue: "q", port: 0 });
    running.push(d);
    // biome-ignore lint/suspicious/noExplicitAny: the bodies are checked by the assertions
    const get = async (path: string): Promise<any> => (await fetch(d.url + path)).json();
    const overview = await get("/api/overview");
    expect(overview.shards).toBe(N);
    expect(overview.counts).toMatchObject({ waiting: total(perShard.waiting, N), dead: 2 * N });
    expect((await get("/api/queues")).queues).toEqual(["q"]);
    const first = await get("/api/dead?limit=7");
    const second = await get(`/api/dead?limit=7&cursor=${encodeURIComponent(first.next)}`);
    expect([...first.letters, ...second.letters].map((l: { id: string }) => l.id)).toEqual(
      lettersNewestFirst(),
    );
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toContain(`courier_jobs_waiting{queue="q"} ${total(perShard.waiting, N)}`);
    expect(metrics).toContain(
      `courier_jobs_finished_total{queue="q"} ${total(perShard.finished, N)}`,
    );
    expect(metrics).toContain(
      `courier_job_duration_seconds_count{queue="q"} ${total(perShard.finished, N)}`,
    );
    expect(metrics).toContain(`courier_queue_shards{queue="q"} ${N}`);
    expect(metrics).toContain(`courier_workers_live{queue="q"} 1`);
  });
});
