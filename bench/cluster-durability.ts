// Durability "replicated" against the default, on local 3+3 clusters (docs/cluster.md,
// "Durability"): the failover scenario of research/cluster.md §5.9 (a replica stopped 800 ms,
// its master killed, 4 KB jobs) `--runs` times per mode, each on a fresh cluster, with the
// acknowledged jobs lost; then what WAIT costs on one more fresh cluster: pipelined enqueue
// throughput (a 6-shard queue, enqueueMany of small jobs) and the p50/p99 of awaited
// single-job enqueues, with and without it, modes alternating round by round. Prints a
// table, and one JSON line per figure.
//
//   bun bench/cluster-durability.ts [--runs 3] [--jobs 200000] [--singles 1000] [--rounds 5]
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
    rounds: { type: "string", default: "5" },
  },
});
const MODES: Durability[] = ["async", "replicated"];

interface Cost {
  durability: Durability;
  jobsPerS: number[];
  p50Ms: number[];
  p99Ms: number[];
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
  const out = MODES.map((durability) => ({ durability, jobsPerS: [], p50Ms: [], p99Ms: [] }));
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const cost of out) {
        const queue = await Queue.connect({
          redisUrl: cluster.seedUrl,
          prefix: `cost${round}${cost.durability}`,
          shards: 6,
          durability: cost.durability,
        });
        try {
          await measure(queue, cost);
        } finally {
          await queue.close();
        }
      }
    }
  } finally {
    await cluster.stop();
  }
  for (const c of out) console.log(JSON.stringify({ figure: "cost", ...c }));
  return out;
}

async function measure(queue: Queue, cost: Cost): Promise<void> {
  const jobs = Number(values.jobs);
  const specs = Array.from({ length: jobs }, (_, i) => ({ task: "noop", payload: i }));
  await queue.enqueueMany(specs.slice(0, 1_000)); // layout, scripts on every master
  const began = performance.now();
  await queue.enqueueMany(specs);
  cost.jobsPerS.push(Math.round(jobs / ((performance.now() - began) / 1_000)));
  const took: number[] = [];
  for (let i = 0; i < Number(values.singles); i++) {
    const t = performance.now();
    await queue.enqueue("noop", i);
    took.push(performance.now() - t);
  }
  took.sort((a, b) => a - b);
  const at = (q: number) => round2(took[Math.min(took.length - 1, Math.floor(q * took.length))]!);
  cost.p50Ms.push(at(0.5));
  cost.p99Ms.push(at(0.99));
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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
  const drop = 1 - median(r.jobsPerS) / median(a.jobsPerS);
  rows.push(
    "",
    "| durability | pipelined enqueue jobs/s (median) | single enqueue p50 ms | p99 ms |",
  );
  rows.push("|---|---|---|---|");
  for (const c of cost) {
    rows.push(
      `| ${c.durability} | ${median(c.jobsPerS)} (${c.jobsPerS.join(", ")}) | ${median(c.p50Ms)} | ${median(c.p99Ms)} |`,
    );
  }
  rows.push("", `WAIT's cost on pipelined enqueue throughput: ${(drop * 100).toFixed(1)} %`);
  return rows.join("\n");
}

const runs = await failovers();
const cost = await costs();
console.log(`\n${table(runs, cost)}`);
process.exit(0);
