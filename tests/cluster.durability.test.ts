// Durability "replicated" on a real 3+3 cluster: WAIT goes to the master of the job's shard only
// (never node-redis' broadcast to every master), on the connection that carried the enqueue
// script, right after it; a worker's finish is followed the same way. Then the scenario of
// research/cluster.md §5.9, once per mode, each on a fresh cluster (bench/_durability.ts):
// a stopped replica, its master killed: the default loses acknowledged jobs (so the scenario is
// known to be sensitive), "replicated" loses none. bench/cluster-durability.ts runs it 3 times.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "redis";
import { durabilityRun } from "../bench/_durability.ts";
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { Queue } from "../lib/queue/queue.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { defineTask } from "../lib/types.ts";
import { onPort } from "./fixtures/on-port.ts";
import { startWorker, testPrefix, until } from "./helpers.ts";

const SHARDS = 6;

/**
 * The script calls and WAITs, in order, on the connection of the last script call seen (MONITOR
 * lines of one master), from the first script call on it.
 */
function onConnectionOfScript(lines: [string, string][]): string[] {
  const scripts = lines.filter(([, c]) => c === "EVALSHA" || c === "EVAL");
  const from = scripts.at(-1)?.[0];
  const mine = lines.filter(([addr, c]) => addr === from && c !== "PING");
  const first = mine.findIndex(([, c]) => c === "EVALSHA" || c === "EVAL");
  return mine.slice(first).map(([, c]) => c);
}

describe("WAIT on a cluster", () => {
  let cluster: LocalCluster;
  let masters: number[];

  beforeAll(async () => {
    cluster = await startCluster({ fullCoverage: false });
    masters = cluster.nodes.slice(0, cluster.masters).map((n) => n.port);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** Commands each master saw (MONITOR) while `fn` ran: port → [client address, command][]. */
  /** `settled`: also wait for it (a WAIT that blocks is told by MONITOR when it returns). */
  async function monitored(
    fn: () => Promise<unknown>,
    settled: (seen: Map<number, [string, string][]>) => boolean = () => true,
  ): Promise<Map<number, [string, string][]>> {
    const seen = new Map<number, [string, string][]>();
    const monitors = await Promise.all(
      masters.map(async (port) => {
        const lines: [string, string][] = [];
        seen.set(port, lines);
        const c = createClient({ RESP: 2, socket: { host: "127.0.0.1", port } });
        await c.connect();
        await c.monitor((line: string) => {
          const m = /\[\d+ ([^\]]+)\] "([A-Za-z]+)"/.exec(line);
          if (m) lines.push([m[1]!, m[2]!.toUpperCase()]);
        });
        return c;
      }),
    );
    try {
      await fn();
      // A PING after it on each master: once MONITOR tells it, it has told everything before.
      for (const port of masters) await onPort(port, ["PING"]);
      await until(
        () => [...seen.values()].every((l) => l.some(([, c]) => c === "PING")),
        "MONITOR to see the PINGs",
      );
      await until(() => settled(seen), "MONITOR to see what the test waits for");
      return seen;
    } finally {
      for (const m of monitors) m.destroy();
    }
  }

  /** The port of the master of the shard job `id` is in. */
  async function masterOfJob(prefix: string, id: string): Promise<number> {
    const stream = shardKeys(prefix, "default", SHARDS)[shardOf(id, SHARDS)]!.stream;
    return (await cluster.masterOf(stream)).port;
  }

  const waitsBy = (seen: Map<number, [string, string][]>) =>
    masters.map((p) => ({ port: p, waits: seen.get(p)!.filter(([, c]) => c === "WAIT").length }));

  test("an enqueue's WAIT goes to its shard's master only, after its script, on its connection", async () => {
    const prefix = testPrefix();
    const q = await Queue.connect({
      redisUrl: cluster.seedUrl,
      prefix,
      shards: SHARDS,
      durability: "replicated",
    });
    try {
      // The layout recorded, and the script cached on every master (one job per shard).
      await q.enqueueMany(Array.from({ length: SHARDS }, () => ({ task: "noop", payload: 0 })));
      let id = "";
      const seen = await monitored(async () => {
        id = await q.enqueue("noop", 1);
      });
      const port = await masterOfJob(prefix, id);
      for (const m of waitsBy(seen)) expect(m.waits).toBe(m.port === port ? 1 : 0);
      expect(onConnectionOfScript(seen.get(port)!)).toEqual(["EVALSHA", "WAIT"]);
    } finally {
      await q.close();
    }
  });

  test("a script sent again after NOSCRIPT (a promoted replica's empty cache) gets a WAIT after it too", async () => {
    const prefix = testPrefix();
    const q = await Queue.connect({
      redisUrl: cluster.seedUrl,
      prefix,
      shards: SHARDS,
      durability: "replicated",
    });
    try {
      await q.enqueueMany(Array.from({ length: SHARDS }, () => ({ task: "noop", payload: 0 })));
      for (const port of masters) await onPort(port, ["SCRIPT", "FLUSH"]);
      let id = "";
      const seen = await monitored(async () => {
        id = await q.enqueue("noop", 1);
      });
      const lines = seen.get(await masterOfJob(prefix, id))!;
      expect(onConnectionOfScript(lines)).toEqual(["EVALSHA", "WAIT", "EVAL", "WAIT"]);
    } finally {
      await q.close();
    }
  });

  test("a worker's finish: WAIT on its shard's master only", async () => {
    const prefix = testPrefix();
    const q = await Queue.connect({ redisUrl: cluster.seedUrl, prefix, shards: SHARDS });
    const noop = defineTask({ name: "noop", run: async () => "done" });
    const w = await startWorker({
      prefix,
      redisUrl: cluster.seedUrl,
      shards: SHARDS,
      tasks: [noop],
      durability: "replicated",
    });
    try {
      let id = "";
      // The job ends (its finish event) before the WAIT after its finish returns.
      const waited = (seen: Map<number, [string, string][]>) =>
        [...seen.values()].some((lines) => lines.some(([, c]) => c === "WAIT"));
      const seen = await monitored(async () => {
        id = await q.enqueue("noop", 1);
        expect((await q.waitForJobs([id], { timeoutMs: 10_000 })).pending).toEqual([]);
      }, waited);
      const port = await masterOfJob(prefix, id);
      const only = masters.map((p) => ({ port: p, waited: p === port }));
      expect(waitsBy(seen).map((m) => ({ port: m.port, waited: m.waits > 0 }))).toEqual(only);
      // Each WAIT after a script call (the finish; its EVAL after a NOSCRIPT) on its connection,
      // with no WAIT between them. That connection also carries the worker's other commands (a
      // read may come between the two): WAIT waits for every write its connection made before it.
      const lines = seen.get(port)!;
      const from = lines.find(([, c]) => c === "WAIT")![0];
      const mine = lines.filter(([addr]) => addr === from).map(([, c]) => c);
      mine.forEach((c, i) => {
        if (c !== "WAIT") return;
        const before = mine.slice(0, i);
        const since = before.slice(before.lastIndexOf("WAIT") + 1);
        expect(since.some((x) => x === "EVALSHA" || x === "EVAL")).toBe(true);
      });
    } finally {
      await w.stop();
      await q.close();
    }
  });
});

// One failover per fresh cluster (docs/cluster.md): each run starts its own.
describe("a replica stopped, its master killed (research/cluster.md §5.9)", () => {
  test("async (the default): acknowledged jobs are lost", async () => {
    const run = await durabilityRun("async");
    expect(run.acknowledged).toBeGreaterThan(0);
    expect(run.lost).toBeGreaterThan(0);
  }, 90_000);

  test("replicated: no acknowledged job is lost", async () => {
    const run = await durabilityRun("replicated");
    // Jobs were acknowledged before the stall and after the failover, none while WAIT blocked.
    expect(run.acknowledged).toBeGreaterThan(2_000);
    expect(run.lost).toBe(0);
  }, 90_000);
});
