#!/usr/bin/env bun
// A local Redis Cluster that outlives this command, for CI and trying things by hand:
// `start` prints the seed URL, `status` checks it, `stop` stops only the nodes it started.
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { EXIT, intArg, runCli, UsageError } from "../bin/_cli.ts";
import { ConnectError } from "../lib/errors.ts";
import { readRecord, recordedStatus, stopRecorded } from "../lib/stack/_cluster-record.ts";
import { REPO_ROOT } from "../lib/stack/_self.ts";
import { clusterDefaults, MAX_MASTERS, startCluster } from "../lib/stack/cluster.ts";

const DEFAULT_DIR = ".data/cluster";

const dirArg = {
  dir: {
    type: "string",
    description: `Folder of the nodes and of cluster.json, their ports and PIDs (default ${DEFAULT_DIR} in the repository)`,
  },
} as const;

function dirOf(args: { dir?: string }): string {
  return args.dir ? resolve(args.dir) : join(REPO_ROOT, DEFAULT_DIR);
}

const start = defineCommand({
  meta: {
    name: "start",
    description:
      "Start N masters + N replicas on free 127.0.0.1 ports and wait until every node reports cluster_state:ok, 16384 slots and every replica master_link_status:up; print the seed URL. Exits 2 when a cluster already runs from --dir or it holds other files, 5 when it is not ready in time, 6 when redis-server is missing or a node does not start.",
  },
  args: {
    ...dirArg,
    masters: {
      type: "string",
      description: `Masters, each with one replica (default ${clusterDefaults.masters})`,
    },
    "node-timeout": {
      type: "string",
      description: `cluster-node-timeout in ms, how long a silent node takes to be declared failing; a failover takes ~2.4 s at 1000, ~21 s at Redis's 15000 (default ${clusterDefaults.nodeTimeoutMs})`,
    },
    "full-coverage": {
      type: "boolean",
      default: true,
      description:
        "cluster-require-full-coverage; --no-full-coverage lets masters keep serving their slots while another master fails over",
    },
    aof: { type: "boolean", description: "AOF on every node, fsync every second (default off)" },
  },
  async run({ args }) {
    const dir = dirOf(args);
    const running = readRecord(dir);
    if (running && (await recordedStatus(running)).nodes.some((n) => n.process === "ours")) {
      throw new UsageError(`a cluster already runs from ${dir}: stop it first`);
    }
    if (running) await stopRecorded(dir); // a stale record: its nodes are gone
    const cluster = await startCluster({
      dir,
      survive: true,
      masters: intArg(args.masters, "masters", 1, MAX_MASTERS),
      nodeTimeoutMs: intArg(args["node-timeout"], "node-timeout", 100, 600_000),
      fullCoverage: args["full-coverage"],
      aof: args.aof,
    });
    process.stdout.write(`${cluster.seedUrl}\n`);
    process.stderr.write(
      `${cluster.masters}+${cluster.masters} cluster ready in ${(cluster.startMs / 1000).toFixed(1)} s, nodes in ${dir}\n`,
    );
    process.exit(EXIT.ok);
  },
});

const status = defineCommand({
  meta: {
    name: "status",
    description:
      "Print the seed URL and each node (port, pid, role); exit 0 when the cluster is ready, 6 when it is not or none is recorded in --dir.",
  },
  args: dirArg,
  async run({ args }) {
    const dir = dirOf(args);
    const record = readRecord(dir);
    if (!record) throw new ConnectError(`no cluster recorded in ${dir}`);
    const { nodes, problem } = await recordedStatus(record);
    process.stdout.write(`${record.seedUrl}\n`);
    for (const n of nodes) {
      const role = n.role === "slave" ? "replica" : (n.role ?? "-");
      const at = `127.0.0.1:${n.port}`;
      const problem = n.problem?.replace(`${at} `, "") ?? "ok";
      const state = n.process === "ours" ? problem : `process ${n.process}`;
      process.stdout.write(`${at} pid ${n.pid} ${role} ${state}\n`);
    }
    if (problem) throw new ConnectError(`cluster not ready: ${problem}`);
    process.exit(EXIT.ok);
  },
});

const stop = defineCommand({
  meta: {
    name: "stop",
    description:
      "Stop the nodes recorded in --dir that are still the redis-servers started there (SIGTERM, SIGKILL after 5 s) and remove the folder; nothing recorded is not an error.",
  },
  args: dirArg,
  async run({ args }) {
    const dir = dirOf(args);
    const stopped = await stopRecorded(dir);
    if (!stopped) process.stderr.write(`no cluster recorded in ${dir}: nothing to stop\n`);
    else {
      const left = stopped.notOurs.length
        ? `; left alone PIDs now used by other programs: ${stopped.notOurs.join(", ")}`
        : "";
      process.stderr.write(`stopped ${stopped.stopped} nodes, removed ${dir}${left}\n`);
    }
    process.exit(EXIT.ok);
  },
});

export const command = defineCommand({
  meta: { name: "cluster", description: "A local Redis Cluster for tests and CI" },
  subCommands: { start, status, stop },
});

if (import.meta.main) await runCli(command);
