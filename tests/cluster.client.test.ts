// Courier's Redis Cluster client (lib/redis/cluster.ts) against a real 3+3 cluster: each command
// lands on the master of its key's slot, keyless ones on one node only (never all masters),
// WAIT on the key's node only, blocking reads refused on a shared client, the queue's worker
// checks run there, and a failed connect is one line and leaves the process free to exit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { runScript, script } from "../lib/engine/lua.ts";
import { ConfigError, ConnectError } from "../lib/errors.ts";
import { destroy } from "../lib/redis/close.ts";
import { isCluster, mastersOf, onNodeOf, waitReplicas } from "../lib/redis/cluster.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { checkPermissions, workerCommands } from "../lib/redis/permissions.ts";
import { serverWarnings } from "../lib/redis/server.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { onPort } from "./fixtures/on-port.ts";
import { onOneServer, ROOT, redisUrl, runCli, testPrefix } from "./helpers.ts";

let cluster: LocalCluster;
let client: Redis;
let masterPorts: number[];

beforeAll(async () => {
  cluster = await startCluster();
  masterPorts = cluster.nodes.slice(0, cluster.masters).map((n) => n.port);
  client = await connect(cluster.seedUrl, { name: "courier-test" });
});

afterAll(async () => {
  if (client) destroy(client);
  await cluster?.stop();
});

/** Calls of `command` so far on each master, from INFO commandstats. */
async function calls(command: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const port of masterPorts) {
    const info = String(await onPort(port, ["INFO", "commandstats"]));
    counts.set(
      port,
      Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0),
    );
  }
  return counts;
}

/** How many more calls each master had since `before`. */
async function callsSince(command: string, before: Map<number, number>) {
  const after = await calls(command);
  return masterPorts.map((p) => ({ port: p, calls: after.get(p)! - before.get(p)! }));
}

test("the client is a cluster client, checked on every master", async () => {
  expect(isCluster(client)).toBe(true);
  expect(client.isReady).toBe(true);
  const before = await calls("info");
  destroy(await connect(cluster.seedUrl));
  // The version check (INFO server) ran on each master; the other INFO is the read of `before`.
  for (const c of await callsSince("info", before)) expect(c.calls).toBe(2);
});

test("each command goes to the master of its key's slot, scripts by their first key", async () => {
  const prefix = testPrefix();
  const incr = script("incr-test", "return redis.call('INCRBY', KEYS[1], ARGV[1])", 1);
  const keys = Array.from({ length: 12 }, (_, i) => `${prefix}:k${i}`);
  for (const key of keys) {
    expect(await client.sendCommand(["SET", key, "1"])).toBe("OK");
    expect(await runScript(client, incr, [key], [2])).toBe(3);
  }
  const owners = new Set<number>();
  for (const key of keys) {
    const { port } = await cluster.masterOf(key);
    owners.add(port);
    // Read on that master's own connection: a key elsewhere would answer MOVED.
    expect(await onPort(port, ["GET", key])).toBe("3");
  }
  expect(owners.size).toBe(3); // the keys spread over every master
});

test("keyless commands go to one master, not to all; onNodeOf picks the key's", async () => {
  const before = await calls("time");
  for (let i = 0; i < 5; i++) await client.sendCommand(["TIME"]);
  const spread = (await callsSince("time", before)).map((c) => c.calls).sort();
  expect(spread).toEqual([0, 0, 5]);

  const key = `${testPrefix()}:{shard}:meta`;
  const { port } = await cluster.masterOf(key);
  const again = await calls("time");
  const view = onNodeOf(client, key);
  for (let i = 0; i < 3; i++) await view.sendCommand(["TIME"]);
  await view.sendCommand(["INFO", "memory"]);
  for (const c of await callsSince("time", again)) expect(c.calls).toBe(c.port === port ? 3 : 0);
});

test("waitReplicas runs WAIT on the key's master only", async () => {
  const key = `${testPrefix()}:{w}:stream`;
  const { port } = await cluster.masterOf(key);
  await client.sendCommand(["SET", key, "x"]);
  const before = await calls("wait");
  expect(await waitReplicas(client, key, 1, 2_000)).toBe(1);
  for (const c of await callsSince("wait", before)) expect(c.calls).toBe(c.port === port ? 1 : 0);
});

test("mastersOf gives one Redis per master, for SCAN and INFO fan-outs", async () => {
  const masters = await mastersOf(client);
  const ports = await Promise.all(
    masters.map(async (m) => {
      const info = String(await m.sendCommand(["INFO", "server"]));
      return Number(/^tcp_port:(\d+)/m.exec(info)?.[1]);
    }),
  );
  expect(ports.sort()).toEqual([...masterPorts].sort());
});

describe("blocking reads", () => {
  test("the shared client refuses one (a bug: it would stall its node)", async () => {
    const read = ["XREAD", "BLOCK", "10", "STREAMS", `${testPrefix()}:s`, "$"];
    const err = (await client.sendCommand(read).catch((e) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain("courier bug: blocking command XREAD");
    // Without BLOCK it goes.
    expect(await client.sendCommand(["XREAD", "COUNT", "1", "STREAMS", read[4]!, "0"])).toBeNull();
  });

  test("a client opened for blocking reads sends it, connected only where it reads", async () => {
    const name = `reader-${process.pid}`;
    const reader = await connect(cluster.seedUrl, { blocking: true, name });
    try {
      const stream = `${testPrefix()}:s`;
      expect(await reader.sendCommand(["XREAD", "BLOCK", "10", "STREAMS", stream, "$"])).toBeNull();
      const named = async (port: number) =>
        String(await onPort(port, ["CLIENT", "LIST"])).includes(`name=${name} `);
      const { port } = await cluster.masterOf(stream);
      expect(await named(port)).toBe(true);
      // Its first node (the version check) and the stream's: not every master.
      const connected = await Promise.all(masterPorts.map(named));
      expect(connected.filter(Boolean).length).toBeLessThan(masterPorts.length);
    } finally {
      destroy(reader);
    }
  });
});

test("a worker's permission check runs in one MULTI on its queue's node: nothing is written", async () => {
  const keys = queueKeys(testPrefix(), "perm");
  const { port } = await cluster.masterOf(keys.stream);
  // Given a view whose keyless commands (MULTI, DISCARD) go to another master, still one node.
  let other = 0;
  while ((await cluster.masterOf(`other${other}`)).port === port) other++;
  await checkPermissions(onNodeOf(client, `other${other}`), workerCommands(keys, "w1"), "p");
  await checkPermissions(client, workerCommands(keys, "w1"), "p");
  // XGROUP CREATE … MKSTREAM was queued and discarded: outside the MULTI it would have run.
  expect(await client.sendCommand(["EXISTS", keys.stream])).toBe(0);
});

test("server warnings are read on every master, each said once", async () => {
  const warnings = await serverWarnings(client);
  expect(warnings.filter((w) => w.startsWith("appendonly is no"))).toHaveLength(1);
});

describe("connecting", () => {
  test("an unreachable cluster gives one line naming the URL, password masked", async () => {
    const port = await findFreePort();
    const url = `redis+cluster://bob:hunter2@127.0.0.1:${port}`;
    const err = await connect(url).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toContain(
      `cannot connect to Redis at redis+cluster://bob:***@127.0.0.1:${port}`,
    );
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("\n");
  });

  test("an unreachable cluster is tried for the whole of retryConnectS", async () => {
    // The seeds' back-off doubles to 1 s: it gave up once the next wait would end past the
    // window, 1.5 s into 2 (`--retry-connect 3`: 2.4 s), where one server's waits it all.
    const url = `redis+cluster://127.0.0.1:${await findFreePort()}`;
    const started = Date.now();
    const err = await connect(url, { retryConnectS: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  // The cluster pass's Redis is a cluster: no server without cluster support to point at.
  test.skipIf(!onOneServer)(
    "a server that is no cluster node is named as such, in one line",
    async () => {
      const plain = redisUrl().replace(/^redis:/, "redis+cluster:");
      const err = await connect(plain).catch((e) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect(err.message).toBe(
        `cannot connect to Redis at ${plain}: ERR This instance has cluster support disabled`,
      );
    },
  );

  test("a malformed cluster URL is bad usage: exit 2, one line", async () => {
    expect(await connect("redis+cluster://a:x").catch((e) => e)).toBeInstanceOf(ConfigError);
    const r = await runCli("info", ["--redis-url", "redis+cluster://bob:hunter2@127.0.0.1:x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"127.0.0.1:***" is not host:port');
    expect(r.stderr).not.toContain("hunter2");
    expect(r.stderr.split("\n")[1]).toBe("Run with --help to see the options.");
  });

  test("a seed that accepts and never answers: ConnectError, and the process exits", async () => {
    // Holds every connection open and answers nothing: a stalled network.
    const silent = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data() {} },
    });
    try {
      const r = await runChild(`redis+cluster://127.0.0.1:${silent.port}`, 300);
      const at = `redis+cluster://127.0.0.1:${silent.port}`;
      expect(r.stdout).toStartWith(`ConnectError cannot connect to Redis at ${at}: `);
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(0); // exited by itself: nothing left open
    } finally {
      silent.stop(true);
    }
  });

  test.each(["destroy(c)", "await closeClient(c)"])(
    "a client that connected, then %s, leaves nothing open",
    async (then) => {
      const r = await runChild(cluster.seedUrl, 5_000, then);
      expect(r.stdout).toBe("connected\n");
      expect(r.code).toBe(0);
    },
  );
});

/** A process that connects, prints the outcome, and must then exit on its own. */
async function runChild(url: string, timeoutMs: number, then = "") {
  const code = `
    import { closeClient, destroy } from "${ROOT}/lib/redis/close.ts";
    import { connect } from "${ROOT}/lib/redis/connect.ts";
    try {
      const c = await connect(${JSON.stringify(url)}, { timeoutMs: ${timeoutMs}, persistent: true });
      console.log("connected");
      await c.sendCommand(["SET", "some-key", "1"]);
      ${then};
    } catch (err) {
      console.log(err.name, err.message);
    }`;
  const proc = Bun.spawn(["bun", "-e", code], { stdout: "pipe", stderr: "pipe" });
  // A process that stays up is the failure this looks for; kill it well after it should end.
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const [stdout, exit] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(timer);
  return { stdout, code: exit };
}
