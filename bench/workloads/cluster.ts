// Issue 12's throughput (`bun run bench --only cluster`, not run by default): no-op jobs end to
// end (all queued first, timed from the workers' start to the last recorded result, as the noop
// workload) on a local 3+3 Redis Cluster with a queue of 6 shards, against the same code on the
// bench's one redis-server, twice: the same queue of 6 shards (`single6`: the issue's "the same
// on one server") and a queue of 1 shard (`single`: what a one-server user runs, the stricter
// baseline), sides taking turns round by round, with 1, 2 and 3 worker processes at concurrency
// 128. `cluster.ratio.Nproc` is the cluster over `single6`, `cluster.ratio1.Nproc` over `single`. With one process it also records, per master, the jobs its
// shards carried and what they cost it (INFO cpu, and INFO commandstats counting each call
// once: bench/_usec.ts), the replicas' CPU, and the worker's: the per-shard figures from which
// docs/performance.md estimates what a cluster of real machines would carry.

import {
  enqueueNoops,
  finishedPerShard,
  flushLab,
  type Lab,
  shardsOf,
  singleLab,
  startLab,
  stopLab,
} from "../_cluster.ts";
import { nowMs } from "../_proc.ts";
import { commandStats, redisCpuS } from "../_redis.ts";
import { topLevelUsec } from "../_usec.ts";
import { courier } from "../contenders/courier.ts";
import { type Ctx, freshQueue, inTurn, startWorkers } from "./_common.ts";
import { processOrigins } from "./_origins.ts";

export const CLUSTER_PROCS = [1, 2, 3] as const;
const CONCURRENCY = 128;
const PREFIX = "bench"; // the courier contender's prefix: its worker processes use it

export async function cluster(ctx: Ctx): Promise<void> {
  ctx.log(`cluster: which commands run inside scripts (MONITOR, ${ctx.size.monitored} jobs)`);
  const inner = await processOrigins(ctx, courier);
  ctx.log("cluster: starting a local 3+3 cluster (cluster-require-full-coverage no)");
  const lab = await startLab();
  const singles = [singleLab(ctx.redis, lab.shards), singleLab(ctx.redis)];
  try {
    for (let round = 1; round <= ctx.rounds; round++) {
      for (const procs of CLUSTER_PROCS) {
        const rates: Record<string, number> = {};
        for (const side of inTurn([lab, ...singles], round)) {
          ctx.log(`cluster round ${round}: ${side.name}, ${procs} worker process(es)`);
          const r = await drain(side, procs, ctx.size.cluster, inner);
          rates[side.name] = r.jobsPerS;
          ctx.rec.add(`cluster.${side.name}.${procs}proc`, "courier", "jobs/s", r.jobsPerS);
          if (procs === 1) recordCosts(ctx, side, r);
        }
        const same = rates["3x3"]! / rates[singles[0]!.name]!;
        const one = rates["3x3"]! / rates.single!;
        ctx.rec.add(`cluster.ratio.${procs}proc`, "courier", "x", same);
        ctx.rec.add(`cluster.ratio1.${procs}proc`, "courier", "x", one);
        const says = `${same.toFixed(2)}x one server (6 shards), ${one.toFixed(2)}x (1 shard)`;
        ctx.log(`cluster round ${round}, ${procs} process(es): ${says}`);
      }
    }
  } finally {
    await stopLab(lab);
  }
}

/**
 * One figure per shard (`shard0`…), per master (`master0.cpu`, `master0.usec`: its shards'
 * jobs) and per replica (`replica0.cpu`: its master's jobs), numbered as the cluster started.
 */
function recordCosts(ctx: Ctx, side: Lab, r: Drained): void {
  const add = (what: string, unit: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v) && v > 0) {
      ctx.rec.add(`cluster.${side.name}.${what}`, "courier", unit, v);
    }
  };
  add("worker.cpu", "us/job", r.workerCpuUs);
  for (const [s, v] of r.shardJobsPerS.entries()) add(`shard${s}`, "jobs/s", v);
  const count = { master: 0, replica: 0 };
  for (const n of r.nodes) {
    const name = `${n.role}${count[n.role]++}`;
    add(`${name}.cpu`, "us/job", n.cpuUs);
    add(`${name}.usec`, "us/job", n.usec);
  }
}

export interface NodeCost {
  port: number;
  role: "master" | "replica";
  /** Jobs the shards of this node's master carried. */
  jobs: number;
  /** Redis CPU (INFO cpu) per job of those, in µs. */
  cpuUs: number | undefined;
  /** For a master: Redis time in top-level calls (INFO commandstats) per job, in µs. */
  usec: number | undefined;
}

export interface Drained {
  jobsPerS: number;
  shardJobsPerS: number[];
  workerCpuUs: number | undefined;
  nodes: NodeCost[];
}

/** Flush, queue `n` no-op jobs over the lab's shards, start `procs` workers, time the drain. */
export async function drain(
  lab: Lab,
  procs: number,
  n: number,
  inner: Map<string, number>,
): Promise<Drained> {
  await flushLab(lab);
  const queue = freshQueue("cluster");
  await enqueueNoops(lab, PREFIX, queue, n);
  const shards = await shardsOf(lab, PREFIX, queue);
  const spec = { url: lab.url, queue, concurrency: CONCURRENCY, task: "noop" as const };
  const { procs: workers, go } = await startWorkers(courier, { ...spec, notify: false }, procs);
  try {
    const cpu0 = workers.map((p) => p.cpuS());
    const before = await snapshot(lab);
    const t0 = nowMs();
    go();
    let exited = false;
    void Promise.race(workers.map((p) => p.exited)).then(() => {
      exited = true;
    });
    let polls = 0;
    for (let done = 0; done < n; polls++) {
      if (exited) throw new Error(`cluster: a worker process exited with ${done} of ${n} done`);
      done = (await finishedPerShard(shards)).reduce((a, b) => a + b, 0);
      if (done < n) await Bun.sleep(5);
    }
    const seconds = (nowMs() - t0) / 1_000;
    const workerCpu = workers.reduce((s, p, i) => s + p.cpuS() - cpu0[i]!, 0);
    const after = await snapshot(lab);
    const perShard = await finishedPerShard(shards);
    const jobsOn = (port: number) =>
      shards.reduce((s, sh, i) => s + (sh.node.port === port ? perShard[i]! : 0), 0);
    const pollsOn = (port: number) => polls * shards.filter((s) => s.node.port === port).length;
    const nodes = lab.nodes.map((node, i): NodeCost => {
      const jobs = jobsOn(node.masterPort);
      const cpu = after[i]!.cpu - before[i]!.cpu;
      const ours = new Map([["hget", pollsOn(node.port)]]);
      const usec = topLevelUsec(before[i]!.stats, after[i]!.stats, inner, ours);
      // /proc and INFO cpu count in 10 ms ticks: below 50 ms the figure is mostly rounding.
      const per = (v: number, least: number) => (jobs > 0 && v >= least ? v / jobs : undefined);
      return {
        port: node.port,
        role: node.role,
        jobs,
        cpuUs: per(cpu * 1e6, 50_000),
        usec: node.role === "master" ? per(usec, 1) : undefined,
      };
    });
    return {
      jobsPerS: n / seconds,
      shardJobsPerS: perShard.map((j) => j / seconds),
      workerCpuUs: workerCpu >= 0.05 ? (workerCpu / n) * 1e6 : undefined,
      nodes,
    };
  } finally {
    await Promise.all(workers.map((p) => p.stop()));
  }
}

async function snapshot(lab: Lab) {
  return Promise.all(
    lab.nodes.map(async (n) => ({
      cpu: await redisCpuS(n.admin),
      stats: await commandStats(n.admin),
    })),
  );
}
