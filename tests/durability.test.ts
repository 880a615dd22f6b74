// Durability "replicated" on one server with a replica (the same code path as on a cluster, on
// the plain client): an enqueue's WAIT 1 goes on the connection that carried its writes, right
// after them; a replica that does not acknowledge (stopped) makes the enqueue fail with
// NotReplicatedError (the CLI: one line, exit 6), and a worker's outcome batch log a warning.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { defaults } from "../lib/config.ts";
import { shardKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { ConfigError, NotReplicatedError } from "../lib/errors.ts";
import { resolveOptions } from "../lib/options.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { defineTask } from "../lib/types.ts";
import { logRecorder, openQueue, runCli, startWorker, testPrefix, until } from "./helpers.ts";

let dir: string;
let master: RedisServer;
let replica: RedisServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "courier-durability-"));
  const base = { persistence: false } as const;
  master = await startRedisServer({ ...base, port: await findFreePort(), dataDir: join(dir, "m") });
  const replicaOf = ["--replicaof", "127.0.0.1", String(master.port)];
  replica = await startRedisServer({
    ...base,
    port: await findFreePort(),
    dataDir: join(dir, "r"),
    extraArgs: replicaOf,
  });
  await until(
    async () => /^slave0:.*state=online/m.test(await onMaster(["INFO", "replication"])),
    "the replica online",
  );
});

afterAll(async () => {
  await Promise.all([replica?.stop(2_000), master?.stop(2_000)]);
  rmSync(dir, { recursive: true, force: true });
});

async function onMaster(args: string[]): Promise<string> {
  const c = createClient({ RESP: 2, url: master.url });
  await c.connect();
  try {
    return String(await c.sendCommand(args));
  } finally {
    c.destroy();
  }
}

/** Runs `fn` with the replica stopped (SIGSTOP): it receives nothing and acknowledges nothing. */
async function withReplicaStopped<T>(fn: () => Promise<T>): Promise<T> {
  process.kill(replica.pid, "SIGSTOP");
  try {
    return await fn();
  } finally {
    process.kill(replica.pid, "SIGCONT");
  }
}

const queueOn = (prefix: string, durability: "async" | "replicated") =>
  openQueue({ redisUrl: master.url, prefix, durability, replicaWaitMs: 200 });

/** The commands seen by MONITOR on the master while `fn` runs: [client address, command]. */
async function monitored(fn: () => Promise<unknown>): Promise<[string, string][]> {
  const seen: [string, string][] = [];
  const monitor = createClient({ RESP: 2, url: master.url });
  await monitor.connect();
  await monitor.monitor((line: string) => {
    // A script call is told with its sha: `EVALSHA <sha>`.
    const m = /\[\d+ ([^\]]+)\] "([A-Za-z]+)"(?: "([0-9a-f]{40})")?/.exec(line);
    if (!m) return;
    const command = m[2]!.toUpperCase();
    seen.push([m[1]!, command === "EVALSHA" ? `EVALSHA ${m[3]}` : command]);
  });
  try {
    await fn();
    await onMaster(["PING"]); // seen after what fn sent: MONITOR has told all of it
    await until(() => seen.some(([, c]) => c === "PING"), "MONITOR to see the PING");
    return seen;
  } finally {
    monitor.destroy();
  }
}

describe("durability replicated, one server and a replica", () => {
  // An enqueue's write: enqueue.lua, or a plain job's enqueue-one.lua (enqueue-plain.ts).
  const WRITES = new Set([`EVALSHA ${scripts.enqueue.sha}`, `EVALSHA ${scripts.enqueueOne.sha}`]);

  test("WAIT 1 goes right after the enqueue's writes, on their connection", async () => {
    await using q = await queueOn(testPrefix(), "replicated");
    await q.enqueue("noop", 1); // the layout recorded, the script cached: one enqueue below
    for (const opts of [{}, { delayMs: 60_000 }]) {
      // A plain job (XADD, HINCRBY) and a delayed one (the script).
      // The commands a script runs are told as the `lua` client's: those sent only.
      const seen = (await monitored(() => q.enqueue("noop", 2, opts))).filter(
        ([addr]) => addr !== "lua",
      );
      const last = seen.findLastIndex(([, c]) => WRITES.has(c));
      expect(last).toBeGreaterThanOrEqual(0);
      const [from] = seen[last]!;
      const next = seen.slice(last + 1).find(([addr]) => addr === from);
      expect(next).toEqual([from, "WAIT"]);
    }
  });

  test("async: no WAIT at all", async () => {
    await using q = await queueOn(testPrefix(), "async");
    await q.enqueue("noop", 1);
    const seen = await monitored(() => q.enqueue("noop", 2));
    expect(seen.some(([, c]) => WRITES.has(c))).toBe(true);
    expect(seen.some(([, c]) => c === "WAIT")).toBe(false);
  });

  test("a replica that does not acknowledge: the enqueue throws NotReplicatedError", async () => {
    await using q = await queueOn(testPrefix(), "replicated");
    await using a = await queueOn(testPrefix(), "async");
    await q.enqueue("noop", 0);
    await withReplicaStopped(async () => {
      const err = await q.enqueue("noop", 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotReplicatedError);
      // "of shard S" on a queue of several (the cluster pass of the suite makes 6).
      // The job is on the master: its id is said, so it can be looked at (`result ID`).
      expect((err as Error).message).toMatch(
        /^the job \S+ was enqueued, but no replica( of shard \d+)? confirmed it within 200 ms/,
      );
      expect(await a.enqueue("noop", 1)).toBeString(); // the default does not wait
    });
  });

  test("retryConnectS sends it again until a replica confirms: the job once, with its id", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({
      redisUrl: master.url,
      prefix,
      durability: "replicated",
      replicaWaitMs: 100,
      retryConnectS: 30,
    });
    await q.enqueue("noop", 0);
    const waits = () => onMaster(["INFO", "commandstats"]).then(waitCalls);
    const before = await waits();
    let id: string | undefined;
    const enqueued = await withReplicaStopped(async () => {
      const sent = q.enqueue("noop", 1).then((j) => (id = j));
      // Two WAITs answered 0 (sent, then sent again): then the replica comes back.
      await until(async () => (await waits()) >= before + 2, "two WAITs answered");
      expect(id).toBeUndefined();
      return { sent };
    });
    await enqueued.sent;
    expect(await q.getJob(id!)).toMatchObject({ id, status: "queued", payload: 1 });
    // The first job and this one, over the queue's shards: the re-sends added nothing.
    let jobs = 0;
    for (const keys of shardKeys(prefix, "default", q.shards)) {
      jobs += Number(await onMaster(["XLEN", keys.stream]));
    }
    expect(jobs).toBe(2);
  });

  test("past retryConnectS, the error is still NotReplicatedError", async () => {
    await using q = await openQueue({
      redisUrl: master.url,
      prefix: testPrefix(),
      durability: "replicated",
      replicaWaitMs: 100,
      retryConnectS: 1,
    });
    await q.enqueue("noop", 0);
    const err = await withReplicaStopped(() => q.enqueue("noop", 1).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(NotReplicatedError);
  });

  test("trigger --durability replicated: one line and exit 6 when no replica confirms", async () => {
    const prefix = testPrefix();
    const args = ["--durability", "replicated", "--prefix", prefix, "--url", "example.org"];
    const env = { REDIS_URL: master.url };
    const ok = await runCli("trigger", args, { env });
    expect(ok.code).toBe(0);
    const refused = await withReplicaStopped(() => runCli("trigger", args, { env }));
    expect(refused.code).toBe(6);
    expect(refused.stdout).toBe("");
    const lines = refused.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const said =
      /^trigger: the job (\S+) was enqueued, but no replica( of shard \d+)? confirmed it within 1000 ms/;
    expect(lines[0]).toMatch(said);
    // The id it names is the job on the master, as `result` reads it.
    const id = said.exec(lines[0]!)![1]!;
    await using q = await openQueue({ redisUrl: master.url, prefix });
    expect(await q.getJob(id)).toMatchObject({ id, status: "queued" });
  });

  test("a worker's outcomes: WAIT after each batch, a warning when no replica confirms", async () => {
    const prefix = testPrefix();
    await using q = await queueOn(prefix, "async");
    const noop = defineTask({ name: "noop", run: async () => "done" });
    const log = logRecorder();
    const config = { prefix, tasks: [noop], logger: log, redisUrl: master.url };
    const w = await startWorker({ ...config, durability: "replicated", replicaWaitMs: 200 });
    const waits = () => onMaster(["INFO", "commandstats"]).then(waitCalls);
    const before = await waits();
    const first = await q.enqueue("noop", 1);
    expect((await q.waitForJobs([first], { timeoutMs: 5_000 })).pending).toEqual([]);
    // The job ends (its finish event) before the WAIT after its finish returns and is counted.
    await until(async () => (await waits()) > before, "a WAIT after the finish");
    expect(log.events()).not.toContain("outcomes not confirmed by a replica");

    await withReplicaStopped(async () => {
      const id = await q.enqueue("noop", 2);
      const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
      expect(ended.get(id)).toMatchObject({ status: "finished", result: "done" });
      await until(
        () => log.events().includes("outcomes not confirmed by a replica"),
        "the warning",
      );
    });
    const warning = log.records.find((r) => r.event === "outcomes not confirmed by a replica");
    expect(warning).toMatchObject({ level: "warn", fields: { count: 1, waitMs: 200 } });
    await w.stop();
  });
});

function waitCalls(info: string): number {
  return Number(/^cmdstat_wait:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

describe("the option", () => {
  test("async by default; anything but async or replicated is refused", () => {
    expect(defaults.durability).toBe("async");
    expect(resolveOptions({}).durability).toBe("async");
    expect(resolveOptions({ durability: "replicated" }).durability).toBe("replicated");
    const bad = { durability: "sync" as "async" };
    expect(() => resolveOptions(bad)).toThrow(ConfigError);
    expect(() => resolveOptions(bad)).toThrow('durability must be async or replicated, got "sync"');
    expect(() => resolveOptions({ replicaWaitMs: 0 })).toThrow(ConfigError);
  });

  test.each([
    ["trigger --durability sync", "trigger", ["--durability", "sync", "--url", "x.org"], {}],
    ["worker --durability sync", "worker", ["--durability", "sync"], {}],
    [
      "trigger, COURIER_DURABILITY=sync",
      "trigger",
      ["--url", "x.org"],
      { COURIER_DURABILITY: "sync" },
    ],
  ] as const)("%s: exit 2, one line", async (_, name, args, env) => {
    const r = await runCli(name, [...args], { env: { ...env, REDIS_URL: master.url } });
    const what = "COURIER_DURABILITY" in env ? "COURIER_DURABILITY" : "--durability";
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(`${name}: ${what} must be async or replicated, got "sync"\n`);
  });
});
