// `bun bench/latency-curve.ts [jobs] [window] [runs]`: how the latency figure depends on how
// long the processes have run (the JavaScript engine's warm-up: docs/performance.md, "What
// makes the p99"). The bench's latency loop (bench/workloads/latency.ts: one job at a time,
// enqueue → the library's wait, one worker process at concurrency 16) run from a cold start
// (no warm-up job) for Courier, BullMQ and the raw Streams loop in turn on one redis-server,
// `runs` times each; the waiter's p50 and p99 per window of `window` jobs, medians over the
// runs, and their ratios to BullMQ's. The raw loop's waiter (bench/contenders/raw.ts: a plain
// `XADD`, the worker's `XACK` + `HSET` + a push onto the job's own list, the waiter's `BLPOP`)
// is the floor: no queue on these three processes and this client can wait for less.
// Prints Markdown. Nothing is asserted.

import { percentile, round } from "./_figures.ts";
import { withRedis } from "./_redis.ts";
import { bullmq } from "./contenders/bullmq.ts";
import { courier } from "./contenders/courier.ts";
import { raw } from "./contenders/raw.ts";
import type { ContenderImpl } from "./contenders/types.ts";
import { inTurn } from "./workloads/_common.ts";
import { measure } from "./workloads/latency.ts";

const [jobs = 12_000, window = 1_000, runs = 3] = process.argv.slice(2).map(Number);
if (![jobs, window, runs].every((n) => Number.isInteger(n) && n > 0) || window > jobs) {
  console.error(
    "usage: bun bench/latency-curve.ts [jobs] [window] [runs] (whole numbers, window <= jobs)",
  );
  process.exit(2);
}
const contenders: ContenderImpl[] = [courier, bullmq, raw];
const median = (xs: number[]) => percentile(xs, 50);

const waits = new Map<string, number[][]>(contenders.map((c) => [c.name, []]));
await withRedis(false, async (redis) => {
  for (let run = 1; run <= runs; run++) {
    for (const c of inTurn(contenders, run)) {
      console.error(`run ${run}: ${c.name} (${jobs} jobs)`);
      waits.get(c.name)!.push((await measure(redis, c, jobs, 0)).waiter);
    }
  }
});

/** The p-th percentile of each run's window [from, from + window), median over the runs. */
const at = (name: string, from: number, p: number) =>
  median(waits.get(name)!.map((w) => percentile(w.slice(from, from + window), p)));

console.log(
  `Waiter latency by jobs run, ${runs} cold run(s) of ${jobs} jobs each, medians of the runs (ms):\n`,
);
console.log(
  "| jobs | Courier p50 / p99 | BullMQ p50 / p99 | raw p50 / p99 | Courier p50 / p99 ratio | raw p50 / p99 ratio |",
);
console.log("|---|---|---|---|--:|--:|");
const all = (n: string) => waits.get(n)!.flat();
const row = (label: string, get: (name: string, p: number) => number) => {
  const [c50, c99, b50, b99, r50, r99] = [
    get("courier", 50),
    get("courier", 99),
    get("bullmq", 50),
    get("bullmq", 99),
    get("raw", 50),
    get("raw", 99),
  ];
  console.log(
    `| ${label} | ${round(c50)} / ${round(c99)} | ${round(b50)} / ${round(b99)} | ${round(r50)} / ${round(r99)} | ${round(c50 / b50)}x / ${round(c99 / b99)}x | ${round(r50 / b50)}x / ${round(r99 / b99)}x |`,
  );
};
for (let from = 0; from + window <= jobs; from += window) {
  row(`${from + 1}–${from + window}`, (name, p) => at(name, from, p));
}
// Every job of every run together (not a median of runs): the whole-run figure.
row("all, pooled", (name, p) => percentile(all(name), p));
