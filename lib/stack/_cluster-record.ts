// What a local cluster leaves in its folder (`cluster.json`): the ports and PIDs it started, so
// another process (`scripts/cluster.ts status|stop`) can find the nodes and stop exactly those.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { clusterProblem, NodeLinks, nodeProblem } from "./_cluster-nodes.ts";
import type { ClusterNode } from "./cluster.ts";

export interface ClusterRecord {
  seedUrl: string;
  masters: number;
  nodes: readonly ClusterNode[];
}

const FILE = "cluster.json";

export function writeRecord(dir: string, record: ClusterRecord): void {
  writeFileSync(join(dir, FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The record in `dir`, or null when there is none; ConfigError when it is not one. */
export function readRecord(dir: string): ClusterRecord | null {
  const path = join(dir, FILE);
  if (!existsSync(path)) return null;
  let record: Partial<ClusterRecord> | undefined;
  try {
    record = JSON.parse(readFileSync(path, "utf8"));
  } catch {}
  const nodes = Array.isArray(record?.nodes) ? record.nodes : [];
  const valid = (n: ClusterNode) => [n?.port, n?.pid].every(Number.isSafeInteger);
  if (typeof record?.seedUrl !== "string" || nodes.length === 0 || !nodes.every(valid)) {
    throw new ConfigError(`${path} is not a cluster record (remove it if no cluster runs there)`);
  }
  return record as ClusterRecord;
}

export type NodeProcess = "ours" | "gone" | "other";

/**
 * Whether `pid` is still the node we started on `port`: Redis titles its process
 * `redis-server 127.0.0.1:<port> [cluster]`, so a PID reused by another program is told apart
 * and left alone. A zombie (exited, not yet reaped) counts as gone. `ps` is on Linux and macOS.
 */
export function processOf(pid: number, port: number): NodeProcess {
  const ps = Bun.spawnSync(["ps", "-o", "stat=", "-o", "args=", "-p", String(pid)]);
  const line = ps.stdout.toString().trim();
  if (ps.exitCode !== 0 || line === "") return "gone";
  const [stat = "", ...args] = line.split(/\s+/);
  if (stat.startsWith("Z")) return "gone";
  const title = args.join(" ");
  const ours = title.includes("redis-server") && new RegExp(`:${port}(\\s|$)`).test(title);
  return ours ? "ours" : "other";
}

/** Nodes still running among `nodes`, checked every 20 ms until none is or `timeoutMs` passed. */
async function stillRunning(nodes: ClusterNode[], timeoutMs: number): Promise<ClusterNode[]> {
  const deadline = performance.now() + timeoutMs;
  let left = nodes;
  while (left.length > 0 && performance.now() < deadline) {
    await Bun.sleep(20);
    left = left.filter((n) => processOf(n.pid, n.port) === "ours");
  }
  return left;
}

/**
 * Stops the nodes recorded in `dir` that are still ours (SIGTERM, then SIGKILL after
 * `timeoutMs`) and removes `dir`. Null when nothing is recorded there.
 */
export async function stopRecorded(
  dir: string,
  timeoutMs = 5_000,
): Promise<{ stopped: number; notOurs: number[] } | null> {
  const record = readRecord(dir);
  if (!record) return null;
  const ours = record.nodes.filter((n) => processOf(n.pid, n.port) === "ours");
  const notOurs = record.nodes.filter((n) => processOf(n.pid, n.port) === "other");
  const send = (n: ClusterNode, signal: NodeJS.Signals) => {
    try {
      process.kill(n.pid, signal);
    } catch {} // gone meanwhile
  };
  for (const n of ours) send(n, "SIGTERM");
  const stubborn = await stillRunning(ours, timeoutMs);
  for (const n of stubborn) send(n, "SIGKILL");
  await stillRunning(stubborn, 2_000);
  rmSync(dir, { recursive: true, force: true });
  return { stopped: ours.length, notOurs: notOurs.map((n) => n.pid) };
}

export interface NodeStatus extends ClusterNode {
  process: NodeProcess;
  role: string | undefined;
  problem: string | null;
}

/** The recorded nodes as they are now, and what keeps the cluster from being ready (or null). */
export async function recordedStatus(
  record: ClusterRecord,
): Promise<{ nodes: NodeStatus[]; problem: string | null }> {
  const links = new NodeLinks();
  try {
    const ports = record.nodes.map((n) => n.port);
    const nodes = await Promise.all(
      record.nodes.map(async (n) => ({
        ...n,
        process: processOf(n.pid, n.port),
        ...(await nodeProblem(links, n.port, ports.length)),
      })),
    );
    return { nodes, problem: await clusterProblem(links, ports, record.masters) };
  } finally {
    links.close();
  }
}
