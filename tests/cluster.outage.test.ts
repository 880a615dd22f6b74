// A master of a real 3+3 cluster (full coverage off) down: commands started while it is down
// answer for jobs on the healthy masters, wait for the failover for jobs on its shards, and,
// when it has no replica, fail in one line naming it; no process hangs. One failover per fresh
// cluster, so each test starts its own.
import { afterEach, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { layoutKey, shardKeys } from "../lib/engine/keys.ts";
import { Queue } from "../lib/queue/queue.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { runCli, testPrefix, until } from "./helpers.ts";

const SHARDS = 6;
const clusters: LocalCluster[] = [];

afterEach(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});

/** A fresh cluster, one job on each shard of a 6-shard queue, and each shard's master. */
async function setUp() {
  const cluster = await startCluster({ fullCoverage: false });
  clusters.push(cluster);
  const prefix = testPrefix();
  const queue = await Queue.connect({
    redisUrl: cluster.seedUrl,
    prefix,
    queue: "q",
    shards: SHARDS,
  });
  const jobs: { id: string; port: number }[] = [];
  try {
    // Auto ids go round robin over the shards: six jobs, one per shard.
    for (let i = 0; i < SHARDS; i++) {
      jobs.push({ id: await queue.enqueue("wordcount", { url: `http://x/${i}` }), port: 0 });
    }
  } finally {
    await queue.close();
  }
  const keys = shardKeys(prefix, "q", SHARDS);
  for (const job of jobs) {
    const shard = Number(job.id.split(":").pop());
    job.port = (await cluster.masterOf(keys[shard]!.stream)).port;
  }
  const cli = (name: string, args: string[]) =>
    runCli(name, [...args, "--prefix", prefix, "--queue", "q"], {
      env: { REDIS_URL: cluster.seedUrl },
      timeoutMs: 40_000, // killed then: what the hang was
    });
  // The queue's layout (its shard count) is on one master: every command reads it there.
  const layoutPort = (await cluster.masterOf(layoutKey(prefix, "q"))).port;
  return { cluster, jobs, cli, layoutPort, prefix };
}

function pidOf(cluster: LocalCluster, port: number): number {
  return cluster.nodes.find((n) => n.port === port)!.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** kill -9 the node on `port`; resolves once its process is gone (not failed over yet). */
async function killNode(cluster: LocalCluster, port: number): Promise<void> {
  const pid = pidOf(cluster, port);
  process.kill(pid, "SIGKILL");
  await until(() => !alive(pid), `node ${port} gone`);
}

test("commands started while a master fails over answer, for jobs on every shard", async () => {
  const { cluster, jobs, cli } = await setUp();
  const victim = jobs[0]!.port;
  const failedOver = cluster.kill(victim); // kill -9 now; resolves once failed over
  await until(() => !alive(pidOf(cluster, victim)), "the master gone");

  const healthy = jobs.find((j) => j.port !== victim)!;
  const onDead = jobs.find((j) => j.port === victim)!;
  const [a, b, info] = await Promise.all([
    cli("result", [healthy.id]),
    cli("result", [onDead.id]), // waits for the failover
    cli("info", []),
  ]);
  await failedOver;
  expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 3, stderr: "" }); // 3: not ended yet
  expect(a.stdout).toContain(`id:       ${healthy.id}`);
  expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 3, stderr: "" });
  expect(b.stdout).toContain(`id:       ${onDead.id}`);
  expect({ code: info.code, stderr: info.stderr }).toEqual({ code: 0, stderr: "" });
  expect(info.stdout).toContain(`waiting ${SHARDS}`);
}, 90_000);

test("a master down with no replica: a command fails in one line naming it, no hang", async () => {
  const { cluster, jobs, cli, layoutPort } = await setUp();
  const victim = jobs.find((j) => j.port !== layoutPort)!.port;
  const index = cluster.nodes.findIndex((n) => n.port === victim);
  const replica = cluster.nodes[index + cluster.masters]!.port; // replicas follow masters
  await killNode(cluster, replica);
  await killNode(cluster, victim);

  // A reader checks every shard's data format as it connects, so a job on a healthy shard
  // cannot be read either while a shard's master is gone for good: said, not waited for.
  const healthy = jobs.find((j) => j.port !== victim)!;
  const onDead = jobs.find((j) => j.port === victim)!;
  const worker = cli("worker", ["--shards", String(SHARDS)]); // shards on it cannot be opened
  for (const r of await Promise.all([cli("result", [healthy.id]), cli("result", [onDead.id])])) {
    expect(r.code).toBe(6);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`node 127.0.0.1:${victim} (master of slot`);
  }
  const w = await worker;
  expect(w.code).toBe(6);
  expect(w.stderr).toContain(`node 127.0.0.1:${victim} (master of slot`);
}, 90_000);

test("a master down with no replica: a long-lived reader's scan of every master names it, each time", async () => {
  // info --watch and the dashboard keep one client: once the master's connection had failed,
  // the SCAN sent to each master (queues are found on every one) was refused at once by the
  // reconnecting connection, "Redis … is unreachable: not connected", every refresh, naming no
  // node. It waits for the node as a keyed command does, then names it.
  const { cluster, jobs, layoutPort } = await setUp();
  const admin = await Admin.connect({ redisUrl: cluster.seedUrl, prefix: testPrefix() });
  try {
    const victim = jobs.find((j) => j.port !== layoutPort)!.port;
    const index = cluster.nodes.findIndex((n) => n.port === victim);
    await killNode(cluster, cluster.nodes[index + cluster.masters]!.port);
    await killNode(cluster, victim);
    for (let i = 0; i < 2; i++) {
      const err = await admin.findQueues().catch((e: Error) => e);
      expect(String((err as Error).message)).toContain(`node 127.0.0.1:${victim} did not answer`);
    }
  } finally {
    await admin.close();
  }
}, 90_000);

test("a master down with no replica: a client given one live seed connects, and serves a queue on a live master", async () => {
  // node-redis connected to every master as it learned the layout and waited for all of them:
  // with one seed in the URL (the usual form), every process (trigger, worker, result, info)
  // failed "gave up connecting" while any master was down for good, even for a queue whose
  // keys all live on healthy masters (full coverage off: the cluster serves them).
  const cluster = await startCluster({ fullCoverage: false });
  clusters.push(cluster);
  const prefix = testPrefix();
  const masters = cluster.nodes.slice(0, cluster.masters).map((n) => n.port);
  let queue = "q0";
  for (let i = 1; (await cluster.masterOf(layoutKey(prefix, queue))).port !== masters[0]; i++) {
    queue = `q${i}`;
  }
  const victim = masters[1]!;
  await killNode(cluster, cluster.nodes[1 + cluster.masters]!.port); // its replica first
  await killNode(cluster, victim);
  const redisUrl = `redis+cluster://127.0.0.1:${masters[0]}`;
  const q = await Queue.connect({ redisUrl, prefix, queue });
  try {
    const id = await q.enqueue("t", 1);
    expect((await q.getJob(id))?.status).toBe("queued");
  } finally {
    await q.close();
  }
  const r = await runCli("result", ["--prefix", prefix, "--queue", queue, "nope"], {
    env: { REDIS_URL: redisUrl },
    timeoutMs: 40_000,
  });
  expect(r.stderr).not.toContain("gave up connecting");
  expect(r.code).toBe(4); // unknown job: the queue was read
}, 90_000);

test("a master down with no replica: a wait for jobs on it ends at its time limit, not after the node's 10 s", async () => {
  // Each command for the dead master's slots waits NODE_WAIT_MS (10 s) for a node to serve
  // them: a wait's first look did, so waitForJobs({ timeoutMs: 1000 }) (result --wait 1)
  // answered after 10 s.
  const { cluster, jobs, layoutPort, prefix } = await setUp();
  const q = await Queue.connect({ redisUrl: cluster.seedUrl, prefix, queue: "q" });
  try {
    const victim = jobs.find((j) => j.port !== layoutPort)!.port;
    const index = cluster.nodes.findIndex((n) => n.port === victim);
    await killNode(cluster, cluster.nodes[index + cluster.masters]!.port);
    await killNode(cluster, victim);
    const ids = [jobs.find((j) => j.port === victim)!.id, jobs.find((j) => j.port !== victim)!.id];
    const started = performance.now();
    const { ended, pending } = await q.waitForJobs(ids, { timeoutMs: 1_000 });
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(pending).toEqual(ids);
    expect(ended.size).toBe(0);
  } finally {
    await q.close();
  }
}, 90_000);
