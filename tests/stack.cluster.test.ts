// `bun run stack --cluster`: a real local 3+3 Redis Cluster instead of one redis-server, run as
// a person runs it (a subprocess; Ctrl-C typed into a terminal) and checked from the outside:
// what each node says, which processes run, what stays in the data folder. Nothing here uses
// the preload's Redis except to see that the stack leaves it alone.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCluster } from "redis";
import { layoutKey } from "../lib/engine/keys.ts";
import { clusterProblem, NodeLinks } from "../lib/stack/_cluster-nodes.ts";
import { processOf } from "../lib/stack/_cluster-record.ts";
import { clusterChildEnv } from "../lib/stack/_local-redis.ts";
import { parseStackArgs, REPO_ROOT } from "../lib/stack/options.ts";
import { findFreePort, pingRedis } from "../lib/stack/redis-server.ts";
import { type Collected, collect, exitCodeWithin, waitFor } from "./fixtures/output.ts";
import { until } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("parseStackArgs --cluster", () => {
  const cwd = "/somewhere";
  test("its own data folder, 6 shards, and REDIS_URL from the environment ignored", () => {
    const env = { REDIS_URL: "redis://x:1" };
    expect(parseStackArgs({ cluster: true }, env, cwd)).toMatchObject({
      cluster: true,
      redisUrl: undefined,
      shards: 6,
      dataDir: join(REPO_ROOT, ".data/redis-cluster"),
    });
    expect(parseStackArgs({ cluster: true, "data-dir": "d" }, {}, cwd).dataDir).toBe(
      "/somewhere/d",
    );
    expect(parseStackArgs({ cluster: true }, { COURIER_SHARDS: "9" }, cwd).shards).toBe(9);
    expect(parseStackArgs({}, {}, cwd)).toMatchObject({ cluster: false, shards: 1 });
  });

  test.each([
    [
      { cluster: true, "redis-url": "redis://h:1" },
      {},
      "--cluster starts its own nodes on free ports: not with --redis-url",
    ],
    [
      { cluster: true, "redis-port": "7000" },
      {},
      "--cluster starts its own nodes on free ports: not with --redis-port",
    ],
    [
      { cluster: true },
      { COURIER_SHARDS: "0" },
      'COURIER_SHARDS must be a whole number from 1 to 1024, got "0"',
    ],
    [
      { cluster: true },
      { COURIER_SHARDS: "six" },
      'COURIER_SHARDS must be a whole number from 1 to 1024, got "six"',
    ],
  ])("%j with env %j is refused", (args, env, message) => {
    expect(() => parseStackArgs(args, env, cwd)).toThrow(message);
  });
});

test("the workers and the dashboard of a cluster stack get its seed URL and the shard count", () => {
  expect(clusterChildEnv("redis+cluster://127.0.0.1:1,127.0.0.1:2", 6)).toEqual({
    REDIS_URL: "redis+cluster://127.0.0.1:1,127.0.0.1:2",
    COURIER_SHARDS: "6",
  });
});

/** The stack's environment: no Redis of the preload's, the dashboard on a free port. */
async function stackEnv(): Promise<Record<string, string>> {
  const {
    REDIS_URL: _,
    COURIER_QUEUE: __,
    COURIER_PREFIX: ___,
    COURIER_SHARDS: ____,
    ...env
  } = process.env;
  const port = String(await findFreePort());
  return { ...env, COURIER_DASHBOARD_PORT: port } as Record<string, string>;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "courier-stack-cluster-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Proc = Bun.Subprocess<"pipe" | "ignore", "pipe", "pipe">;

/** `bun bin/stack.ts --cluster --data-dir DIR --workers 1`, not on a terminal. */
async function spawnStack(dir: string, ...more: string[]): Promise<Proc> {
  const args = ["--cluster", "--data-dir", dir, "--workers", "1", ...more];
  return Bun.spawn([process.execPath, join(REPO_ROOT, "bin/stack.ts"), ...args], {
    env: await stackEnv(),
    stdout: "pipe",
    stderr: "pipe",
  });
}

/**
 * The stack's output once it is ready; after the test, the stack and every pid it printed (its
 * children, the nodes) are SIGKILLed.
 */
async function whenReady(proc: Proc): Promise<Collected> {
  cleanups.push(() => proc.kill("SIGKILL"));
  const out = collect(proc.stdout, true);
  cleanups.push(() => {
    for (const m of out.text.matchAll(/\bpid (\d+)/g)) {
      try {
        process.kill(Number(m[1]), "SIGKILL");
      } catch {}
    }
  });
  await waitFor(out, /system +\| ready/, 20_000);
  return out;
}

/** The seed URL and the nodes the banner names. */
function banner(text: string) {
  const seedUrl = /system +\| redis +(redis\+cluster:\/\/\S+)/.exec(text)?.[1];
  // A node whose role did not come in time (a loaded machine) is listed as `not answering`.
  const nodes = [...text.matchAll(/node 127\.0\.0\.1:(\d+) ([a-z ]+), pid (\d+)/g)].map((m) => ({
    port: Number(m[1]),
    role: m[2],
    pid: Number(m[3]),
  }));
  return { seedUrl, nodes };
}

function clusterClient(port: number) {
  return createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${port}` }], RESP: 2 });
}

/** Runs `use` on node-redis's cluster client (MOVED followed), seeded with one node. */
async function onCluster<T>(
  port: number,
  use: (c: ReturnType<typeof clusterClient>) => Promise<T>,
): Promise<T> {
  const client = clusterClient(port);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/** What keeps the cluster on `ports` from being ready, as each node says, or null. */
async function problemOf(ports: number[]): Promise<string | null> {
  const links = new NodeLinks();
  try {
    return await clusterProblem(links, ports, 3);
  } finally {
    links.close();
  }
}

test("stack --cluster runs a ready 3+3 cluster, refuses a second stack on its folder, SIGTERM stops its workers then its own nodes, and the next stack there brings the same cluster back", async () => {
  const dir = join(tempDir(), "nodes");
  const proc = await spawnStack(dir);
  const out = await whenReady(proc);
  const { seedUrl, nodes } = banner(out.text);
  expect(nodes.map((n) => n.role).sort()).toEqual([
    ...["master", "master", "master", "replica", "replica", "replica"],
  ]);
  expect(seedUrl).toBe(`redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`);
  expect(out.text).toContain("3+3 Redis Cluster, 6 shards, data in");
  expect(await problemOf(nodes.map((n) => n.port))).toBeNull();
  for (const n of nodes) expect([n.pid, processOf(n.pid, n.port)]).toEqual([n.pid, "ours"]);
  const record = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8"));
  expect(record.nodes.map((n: { pid: number }) => n.pid)).toEqual(nodes.map((n) => n.pid));
  // The workers and the dashboard are started with the cluster's seed URL.
  expect(out.text).toMatch(/worker\.1 started \(pid \d+\)/);
  await onCluster(nodes[0]!.port, (c) => c.set("stack-cluster-key", "kept"));

  // A second stack on the same folder: one line, exit 2, and the first one's nodes untouched.
  const second = await spawnStack(dir);
  const [code, stderr] = await Promise.all([
    exitCodeWithin(second, 15_000),
    new Response(second.stderr).text(),
  ]);
  expect(code).toBe(2);
  expect(stderr).toMatch(
    /^stack: another Redis Cluster \(pid \d+\) uses .*nodes: stop that stack, or give --data-dir DIR\n$/,
  );
  for (const n of nodes) expect(processOf(n.pid, n.port)).toBe("ours");

  proc.kill("SIGTERM");
  expect(await exitCodeWithin(proc, 30_000, out)).toBe(0);
  const at = (s: string) => out.text.indexOf(s);
  expect(at("SIGTERM to workers")).toBeGreaterThan(0);
  expect(at("SIGTERM to the 6 cluster nodes still running")).toBeGreaterThan(
    at("SIGTERM to workers"),
  );
  expect(at(`cluster stopped, its data kept in ${dir}`)).toBeGreaterThan(at("SIGTERM to the 6"));
  expect(out.text).not.toContain("SIGKILL");
  expect(nodes.filter((n) => processOf(n.pid, n.port) !== "gone")).toEqual([]);
  // Only its own: the preload's redis-server (in the cluster pass, each node of the preload's
  // cluster: its URL lists them all), started by this test run, still answers.
  const testPorts = process.env
    .COURIER_TEST_REDIS_URL!.replace(/^[a-z+]+:\/\//, "")
    .split(",")
    .map((hostPort) => Number(hostPort.split(":").at(-1)));
  for (const port of testPorts) expect(await pingRedis(port)).toBe(true);
  for (const n of nodes) {
    expect(existsSync(join(dir, String(n.port), "nodes.conf"))).toBe(true);
    expect(existsSync(join(dir, String(n.port), "appendonlydir"))).toBe(true);
  }
  expect(existsSync(join(dir, "cluster.json"))).toBe(true);

  // The next stack on the folder needs the same ports: one taken is said, in one line.
  const taken = Bun.listen({ hostname: "127.0.0.1", port: nodes[2]!.port, socket: { data() {} } });
  const refused = await spawnStack(dir);
  const [refusedCode, refusedErr] = await Promise.all([
    exitCodeWithin(refused, 15_000),
    new Response(refused.stderr).text(),
  ]);
  taken.stop(true);
  expect(refusedCode).toBe(2);
  expect(refusedErr).toStartWith(
    `stack: the cluster in ${dir} needs 127.0.0.1:${nodes[2]!.port} again, which is taken (`,
  );

  // Started again, as a person does, on a terminal; stopped with Ctrl-C.
  const again = await stackOnTerminal(["--cluster", "--data-dir", dir, "--workers", "1"]);
  expect(again.out.text).toContain(`starting the Redis Cluster recorded in ${dir} again`);
  const resumed = banner(again.out.text);
  expect(resumed.seedUrl).toBe(seedUrl);
  expect(await problemOf(resumed.nodes.map((n) => n.port))).toBeNull();
  expect(await onCluster(nodes[0]!.port, (c) => c.get("stack-cluster-key"))).toBe("kept");
  again.ctrlC();
  expect(await exitCodeWithin(again.proc, 30_000, again.out)).toBe(0);
  expect(again.out.text).toContain(`cluster stopped, its data kept in ${dir}`);
  expect(resumed.nodes.filter((n) => processOf(n.pid, n.port) !== "gone")).toEqual([]);
}, 60_000);

test("a node that dies is said and the stack runs on; a stack killed outright takes its nodes with it", async () => {
  const proc = await spawnStack(join(tempDir(), "nodes"));
  const out = await whenReady(proc);
  const { nodes } = banner(out.text);
  const replica = nodes.find((n) => n.role === "replica")!;
  process.kill(replica.pid, "SIGKILL");
  await waitFor(
    out,
    new RegExp(`redis node 127\\.0\\.0\\.1:${replica.port} exited on its own`),
    15_000,
  );
  const others = nodes.filter((n) => n !== replica);
  for (const n of others) expect(processOf(n.pid, n.port)).toBe("ours");
  expect(proc.exitCode).toBeNull();

  proc.kill("SIGKILL");
  await until(
    () => others.every((n) => processOf(n.pid, n.port) === "gone"),
    "the nodes to exit",
    15_000,
  );
}, 60_000);

test("a stack stopped after a node died says how many nodes it stops: those still running", async () => {
  const proc = await spawnStack(join(tempDir(), "nodes"));
  const out = await whenReady(proc);
  const replica = banner(out.text).nodes.find((n) => n.role === "replica")!;
  process.kill(replica.pid, "SIGKILL");
  await waitFor(out, /exited on its own/, 15_000, "the node's death said");
  proc.kill("SIGINT");
  expect(await exitCodeWithin(proc, 30_000, out)).toBe(0);
  // It said "the 6 cluster nodes", one of them gone for a while already.
  expect(out.text).toContain("SIGTERM to the 5 cluster nodes still running");
}, 60_000);

test("every node dying under the stack stops the workers and exits 6, as one Redis dying does", async () => {
  const proc = await spawnStack(join(tempDir(), "nodes"));
  const out = await whenReady(proc);
  const { nodes } = banner(out.text);
  expect(nodes).toHaveLength(6);
  for (const n of nodes) process.kill(n.pid, "SIGKILL");
  // Its workers stop with Redis gone: each step bounded, 25 s on a loaded machine.
  expect(await exitCodeWithin(proc, 50_000, out)).toBe(6);
  expect(out.text).toContain("no node left");
  expect(out.text).toContain("redis exited on its own");
  expect(out.text).toContain("SIGTERM to workers");
}, 80_000);

test("a job triggered on a cluster stack is done by its workers, on a queue of 6 shards", async () => {
  const page = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("<p>one two three</p>", { headers: { "content-type": "text/html" } }),
  });
  cleanups.push(() => page.stop(true));
  const proc = await spawnStack(join(tempDir(), "nodes"), "--allow-private");
  const out = await whenReady(proc);
  const { seedUrl, nodes } = banner(out.text);
  await waitFor(out, /worker\.1 +\| .*worker started/, 15_000);
  const trigger = Bun.spawn(
    [
      process.execPath,
      join(REPO_ROOT, "bin/trigger.ts"),
      "--url",
      `http://127.0.0.1:${page.port}/`,
      "--json",
      "--wait",
      "20",
      "--redis-url",
      seedUrl!,
    ],
    { env: await stackEnv(), stdout: "pipe", stderr: "pipe" },
  );
  const stdout = await new Response(trigger.stdout).text();
  expect(await exitCodeWithin(trigger, 30_000)).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ status: "finished", result: { words: 3 } });
  // The workers recorded the stack's shard count in the queue's layout.
  const shards = await onCluster(nodes[0]!.port, (c) =>
    c.hGet(layoutKey("courier", "default"), "shards"),
  );
  expect(shards).toBe("6");
  proc.kill("SIGTERM");
  expect(await exitCodeWithin(proc, 30_000, out)).toBe(0);
  expect(out.text).toContain("worker.1 stopped (code 0)");
}, 60_000);

/** `bun run stack ARGS` on a pseudo-terminal (tests/stack.signals.test.ts); `ctrlC()` types Ctrl-C. */
async function stackOnTerminal(args: string[]) {
  // `exec`: else the shell `script` runs the command through dies of the Ctrl-C itself.
  const quoted = [process.execPath, "run", "stack", ...args].map((a) => `'${a}'`).join(" ");
  const proc = Bun.spawn(["script", "-qfec", `exec ${quoted}`, "/dev/null"], {
    cwd: REPO_ROOT,
    env: await stackEnv(),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await whenReady(proc);
  const ctrlC = () => {
    proc.stdin.write("\x03");
    proc.stdin.flush();
  };
  return { proc, out, ctrlC };
}
