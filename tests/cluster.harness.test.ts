// The local Redis Cluster harness (lib/stack/cluster.ts, scripts/cluster.ts), checked from the
// outside: what each node says on its own connection, what node-redis's cluster client does
// with it, and which processes are left once it is stopped.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, createCluster } from "redis";
import { WaitTimeoutError } from "../lib/errors.ts";
import { clusterReadiness, nodeReadiness, parseNodes } from "../lib/stack/_cluster-parse.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { ROOT, runProcess } from "./helpers.ts";

let cluster: LocalCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/**
 * Whether this PID runs. A zombie does not: the CLI's nodes outlive it, so their parent becomes
 * PID 1, which may never reap them (it does not on this machine's VM).
 */
function exists(pid: number): boolean {
  const stat = Bun.spawnSync(["ps", "-o", "stat=", "-p", String(pid)])
    .stdout.toString()
    .trim();
  return stat !== "" && !stat.startsWith("Z");
}

/** Runs one command on one node, on a connection of its own. */
async function onNode(port: number, ...commands: string[][]): Promise<unknown[]> {
  const client = createClient({ RESP: 2, socket: { host: "127.0.0.1", port } });
  await client.connect();
  try {
    const replies = [];
    for (const c of commands) replies.push(await client.sendCommand(c));
    return replies;
  } finally {
    client.destroy();
  }
}

function field(text: unknown, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)\r$`, "m").exec(String(text))?.[1];
}

async function clusterClient(port: number) {
  const client = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${port}` }], RESP: 2 });
  await client.connect();
  return client;
}

const info = (fields: Record<string, string | number>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k}:${v}\r\n`)
    .join("");
const okCluster = { cluster_state: "ok", cluster_slots_ok: 16384, cluster_known_nodes: 6 };
const master = info({ role: "master", connected_slaves: 1 });
const replica = info({ role: "slave", master_link_status: "up" });

test.each([
  ["a ready master", info(okCluster), master, null],
  ["a ready replica", info(okCluster), replica, null],
  ["no answer", null, master, "at does not answer"],
  ["cluster down", info({ ...okCluster, cluster_state: "fail" }), master, "at cluster_state:fail"],
  [
    "a slot not covered",
    info({ ...okCluster, cluster_slots_ok: 16383 }),
    master,
    "at cluster_slots_ok:16383",
  ],
  [
    "a node not met yet",
    info({ ...okCluster, cluster_known_nodes: 5 }),
    master,
    "at cluster_known_nodes:5 (want 6)",
  ],
  [
    "a replica still syncing",
    info(okCluster),
    info({ role: "slave", master_link_status: "down" }),
    "at master_link_status:down",
  ],
])("node readiness: %s", (_, clusterInfo, replication, problem) => {
  expect(nodeReadiness("at", clusterInfo, replication, 6).problem).toBe(problem);
});

test("cluster readiness: every node ready, and as many replicas as masters", () => {
  const ready = (role: string) => ({ problem: null, role });
  const three = ["master", "master", "slave"].map(ready);
  expect(clusterReadiness([...three, ready("slave")], 2)).toBe(null);
  expect(clusterReadiness(three, 2)).toBe("1 replicas (want 2)");
  const down = { problem: "at does not answer", role: undefined };
  expect(clusterReadiness([...three, down], 2)).toBe("at does not answer");
});

test("CLUSTER NODES: ports, flags, masters and slot ranges (not slots being migrated)", () => {
  const text = [
    "e7d1 127.0.0.1:30001@31001,host1 myself,master - 0 0 1 connected 0-5460 16383 [5461->-67ed]",
    "07c3 127.0.0.1:30004@31004 slave e7d1 0 1426238317239 4 connected",
    "",
  ].join("\n");
  expect(parseNodes(text)).toEqual([
    {
      id: "e7d1",
      port: 30001,
      flags: ["myself", "master"],
      masterId: "-",
      slots: [
        [0, 5460],
        [16383, 16383],
      ],
    },
    { id: "07c3", port: 30004, flags: ["slave"], masterId: "e7d1", slots: [] },
  ]);
});

test("a 3+3 cluster is ready, routes keys to its three masters, fails over, takes its old master back, and stops its own processes", async () => {
  cluster = await startCluster();
  const nodes = cluster.nodes;
  const pids = nodes.map((n) => n.pid);
  expect(nodes).toHaveLength(6);

  // Readiness, as each node reports it.
  const roles: string[] = [];
  for (const { port } of nodes) {
    const [info, replication] = await onNode(port, ["CLUSTER", "INFO"], ["INFO", "replication"]);
    expect([port, field(info, "cluster_state")]).toEqual([port, "ok"]);
    expect(field(info, "cluster_slots_ok")).toBe("16384");
    expect(field(info, "cluster_known_nodes")).toBe("6");
    const role = field(replication, "role") ?? "";
    if (role === "slave") expect(field(replication, "master_link_status")).toBe("up");
    roles.push(role);
  }
  expect(roles.sort()).toEqual(["master", "master", "master", "slave", "slave", "slave"]);

  // Keys on three different masters, written and read through node-redis's cluster client.
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < 3; i++) {
    const { port } = await cluster.masterOf(`key-${i}`);
    if (!byMaster.has(port)) byMaster.set(port, `key-${i}`);
  }
  const client = await clusterClient(nodes[0]!.port);
  try {
    for (const [port, key] of byMaster) {
      await client.set(key, `on ${port}`);
      expect(await client.get(key)).toBe(`on ${port}`);
      // The master that masterOf() named holds it: a wrong one would answer MOVED.
      const [value, replicated] = await onNode(port, ["GET", key], ["WAIT", "1", "5000"]);
      expect([value, replicated]).toEqual([`on ${port}`, 1]);
    }
  } finally {
    client.destroy();
  }

  // kill -9 a master: its replica takes over its slots, with the data it had.
  const [victim, key] = [...byMaster][0]!;
  const [nodesText] = await onNode(victim, ["CLUSTER", "NODES"]);
  const victimId = String(nodesText).match(/^(\w+) \S+ myself,master/m)?.[1];
  const replicaPort = Number(
    new RegExp(`^\\w+ 127\\.0\\.0\\.1:(\\d+)@\\d+\\S* slave ${victimId} `, "m").exec(
      String(nodesText),
    )?.[1],
  );
  const failoverMs = await cluster.kill(victim);
  expect(failoverMs).toBeGreaterThan(0);
  expect(exists(nodes.find((n) => n.port === victim)!.pid)).toBe(false);
  const [role] = await onNode(replicaPort, ["ROLE"]);
  expect((role as string[])[0]).toBe("master");
  expect(await cluster.masterOf(key)).toMatchObject({ port: replicaPort });
  const after = await clusterClient(replicaPort);
  try {
    expect(await after.get(key)).toBe(`on ${victim}`);
  } finally {
    after.destroy();
  }

  // Restarted, the old master rejoins as a replica of the node that took its place.
  await cluster.restart(victim);
  const [victimRole, victimReplication] = await onNode(victim, ["ROLE"], ["INFO", "replication"]);
  expect((victimRole as [string, string, number])[2]).toBe(replicaPort);
  expect(field(victimReplication, "master_link_status")).toBe("up");
  const restartedPid = cluster.nodes.find((n) => n.port === victim)!.pid;

  const dir = cluster.dir;
  await cluster.stop();
  cluster = undefined;
  expect([...pids, restartedPid].filter(exists)).toEqual([]);
  expect(existsSync(dir)).toBe(false);
}, 60_000);

/** Cluster nodes this test process started and that still run (their titles end `[cluster]`). */
function ownNodes(): string[] {
  const ps = Bun.spawnSync(["ps", "-o", "stat=,args=", "--ppid", String(process.pid)]);
  return ps.stdout
    .toString()
    .split("\n")
    .filter((line) => line.includes("[cluster]") && !line.trim().startsWith("Z"));
}

test("a cluster not ready in time: one line naming what was not, and nothing left running", async () => {
  const failed = await startCluster({ masters: 1, timeoutMs: 300 }).catch((err: Error) => err);
  expect(failed).toBeInstanceOf(WaitTimeoutError);
  // A master reports cluster_state:ok 2 s after it started at the earliest (Redis's own delay).
  expect((failed as Error).message).toMatch(
    /^cluster (join )?not ready within 300 ms: 127\.0\.0\.1:\d+ \S+/,
  );
  expect((failed as Error).message).not.toContain("\n");
  expect(ownNodes()).toEqual([]);
}, 60_000);

test("scripts/cluster.ts: the nodes outlive start, status checks them, stop stops exactly those", async () => {
  const parent = mkdtempSync(join(tmpdir(), "courier-cluster-cli-"));
  const dir = join(parent, "nodes");
  const cli = (...args: string[]) =>
    runProcess([process.execPath, join(ROOT, "scripts/cluster.ts"), "--dir", dir, ...args]);
  try {
    const started = await cli("start", "--masters", "1", "--aof");
    expect(started).toMatchObject({ code: 0 });
    expect(started.stdout).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\n$/);
    const record = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8"));
    const pids: number[] = record.nodes.map((n: { pid: number }) => n.pid);
    expect(pids.filter(exists)).toHaveLength(2);
    for (const { port } of record.nodes) {
      expect(existsSync(join(dir, String(port), "appendonlydir"))).toBe(true);
    }

    const status = await cli("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(" master ok\n");
    expect(status.stdout).toContain(" replica ok\n");
    const again = await cli("start");
    expect(again.code).toBe(2);
    expect(again.stderr).toStartWith("cluster: a cluster already runs from");

    const stopped = await cli("stop");
    expect(stopped).toMatchObject({ code: 0, stderr: `stopped 2 nodes, removed ${dir}\n` });
    expect(pids.filter(exists)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect((await cli("status")).code).toBe(6);
    expect(await cli("stop")).toMatchObject({ code: 0 });

    // stop removes its folder: start refuses one that holds anything else.
    writeFileSync(join(parent, "keep.txt"), "mine");
    const refused = await runProcess([
      ...[process.execPath, join(ROOT, "scripts/cluster.ts"), "start", "--dir", parent],
    ]);
    expect(refused).toMatchObject({ code: 2, stdout: "" });
    expect(refused.stderr).toStartWith(`cluster: ${parent} is not empty`);
    expect(readFileSync(join(parent, "keep.txt"), "utf8")).toBe("mine");
  } finally {
    await cli("stop");
    rmSync(parent, { recursive: true, force: true });
  }
}, 60_000);
