// Durability "replicated" against the default, on local 3+3 clusters (docs/cluster.md,
// "Durability"): the failover scenario of research/cluster.md §5.9 (a replica stopped 800 ms,
// its master killed, 4 KB jobs) `--runs` times per mode, each on a fresh cluster, with the
// acknowledged jobs lost; then what WAIT costs on one more fresh cluster: pipelined enqueue
// throughput (a 6-shard queue, enqueueMany of small jobs, `--jobs` per mode in `--rounds`
// chunks) and the p50/p99 of `--singles` awaited single-job enqueues, with and without it, the
// modes taking turns chunk by chunk and enqueue by enqueue. Prints a
// table, and one JSON line per figure.
//
//   bun bench/cluster-durability.ts [--runs 3] [--jobs 200000] [--singles 1000] [--rounds 10]
import { parseArgs } from "node:util";
import type { Durability } from "../lib/config.ts";
import { Queue } from "../lib/queue/queue.ts";
import { startCluster } from "../lib/stack/cluster.ts";
import { type DurabilityRun, durabilityRun } from "./_durability.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    jobs: { type: "string", default: "200000" },
    singles: { type: "string", default: "1000" },
    rounds: { type: "string", default: "10" },
  },
});
const MODES: Durability[] = ["async", "replicated"];

interface Cost {
  durability: Durability;
  /** Jobs over the time spent on them, all rounds. */
  jobsPerS: number;
  /** Each round's rate. */
  rounds: number[];
  p50Ms: number;
  p99Ms: number;
}

async function failovers(): Promise<DurabilityRun[]> {
  const runs: DurabilityRun[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    for (const mode of MODES) {
      const run = await durabilityRun(mode);
      console.log(JSON.stringify({ figure: "failover", run: i + 1, ...run }));
      runs.push(run);
    }
  }
  return runs;
}

async function costs(): Promise<Cost[]> {
  const cluster = await startCluster({ fullCoverage: false });
  const queues = await Promise.all(
    MODES.map((durability) =>
      Queue.connect({
        redisUrl: cluster.seedUrl,
        prefix: `cost-${durability}`,
        shards: 6,
        durability,
      }),
    ),
  );
  try {
    return await measure(queues);
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    await cluster.stop();
  }
}

/**
 * The modes take turns, chunk by chunk and enqueue by enqueue, so the load of whatever else
 * runs on the machine falls on both alike: throughput is each mode's jobs over its own time.
 */
async function measure(queues: Queue[]): Promise<Cost[]> {
  const chunk = Math.ceil(Number(values.jobs) / Number(values.rounds));
  const specs = Array.from({ length: chunk }, (_, i) => ({ task: "noop", payload: i }));
  for (const q of queues) await q.enqueueMany(specs.slice(0, 1_000)); // layout, scripts cached
  const spentMs = queues.map(() => 0);
  const rates: number[][] = queues.map(() => []);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [m, q] of queues.entries()) {
      const began = performance.now();
      await q.enqueueMany(specs);
      const ms = performance.now() - began;
      spentMs[m]! += ms;
      rates[m]!.push(Math.round(chunk / (ms / 1_000)));
    }
  }
  const took: number[][] = queues.map(() => []);
  for (let i = 0; i < Number(values.singles); i++) {
    for (const [m, q] of queues.entries()) {
      const t = performance.now();
      await q.enqueue("noop", i);
      took[m]!.push(performance.now() - t);
    }
  }
  return MODES.map((durability, m) => {
    const sorted = took[m]!.sort((a, b) => a - b);
    const at = (q: number) =>
      round2(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    const jobsPerS = Math.round((chunk * Number(values.rounds)) / (spentMs[m]! / 1_000));
    const cost = { durability, jobsPerS, rounds: rates[m]!, p50Ms: at(0.5), p99Ms: at(0.99) };
    console.log(JSON.stringify({ figure: "cost", ...cost }));
    return cost;
  });
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function table(runs: DurabilityRun[], cost: Cost[]): string {
  const rows = [
    "| durability | runs | acknowledged (per run) | lost (per run) | refused calls | failover ms |",
  ];
  rows.push("|---|---|---|---|---|---|");
  for (const mode of MODES) {
    const of = runs.filter((r) => r.durability === mode);
    const list = (f: (r: DurabilityRun) => number) => of.map(f).join(" / ");
    rows.push(
      `| ${mode} | ${of.length} | ${list((r) => r.acknowledged)} | ${list((r) => r.lost)} | ${list((r) => r.refused)} | ${list((r) => r.failoverMs)} |`,
    );
  }
  const [a, r] = cost as [Cost, Cost];
  const drop = 1 - r.jobsPerS / a.jobsPerS;
  rows.push(
    "",
    "| durability | pipelined enqueue jobs/s (per round) | single enqueue p50 ms | p99 ms |",
  );
  rows.push("|---|---|---|---|");
  for (const c of cost) {
    const each = c.rounds.join(", ");
    rows.push(`| ${c.durability} | ${c.jobsPerS} (${each}) | ${c.p50Ms} | ${c.p99Ms} |`);
  }
  rows.push("", `WAIT's cost on pipelined enqueue throughput: ${(drop * 100).toFixed(1)} %`);
  return rows.join("\n");
}

const runs = await failovers();
const cost = await costs();
console.log(`\n${table(runs, cost)}`);
process.exit(0);
