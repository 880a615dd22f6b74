// `bun bench/latency-tail.ts [jobs] [runs]`: what makes the tail of Courier's waiter latency
// (docs/performance.md, "Latency, one job at a time"). The bench's latency loop (one job at a
// time, enqueue → Queue.waitForJobs, one worker process at concurrency 16, its own
// redis-server) with, per run:
// - the wait split in three: the enqueue's reply, the worker's finish recorded (its `done`
//   line), the waiter waking; for all jobs and for the slowest 1%;
// - garbage collections: a job during which the producer's JavaScript heap shrank, or the
//   worker's heap (read at each finish) was smaller than at the previous job's; the latency of
//   jobs with one against the rest;
// - involuntary context switches per job of the three processes (/proc: a process that lost
//   its core while it could run);
// - jobs past 1 s: a waiter woken by its blocking read's time limit or the 10 s re-check
//   instead of an event.
// Prints Markdown. Nothing is asserted.

import { heapSize } from "bun:jsc";
import { readFileSync } from "node:fs";
import { round } from "./_figures.ts";
import { nowMs } from "./_proc.ts";
import { type BenchRedis, flush, withRedis } from "./_redis.ts";
import { courier } from "./contenders/courier.ts";
import { freshQueue, startWorkers } from "./workloads/_common.ts";

interface Job {
  id: string;
  total: number;
  enqueue: number;
  t0: number;
  woke: number;
  gcHere: boolean;
}

const involuntary = (pid: number) =>
  Number(
    /nonvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1],
  );
const pct = (xs: number[], p: number) =>
  xs.length ? round([...xs].sort((a, b) => a - b)[Math.floor((p / 100) * (xs.length - 1))]!) : "-";

async function run(r: BenchRedis, n: number): Promise<string[]> {
  await flush(r.admin);
  const queue = freshQueue("courier");
  const producer = await courier.producer(r.url, queue, "noop");
  process.env.BENCH_HEAP = "1"; // the worker adds its heap size to each `done` line
  const spec = { url: r.url, queue, concurrency: 16, task: "noop" as const, notify: true };
  const { procs, go } = await startWorkers(courier, spec, 1);
  const proc = procs[0]!;
  const recorded = new Map<string, { at: number; heap: number }>();
  proc.onLine((line) => {
    const [tag, id, at, heap] = line.split(" ");
    if (tag === "done" && id) recorded.set(id, { at: Number(at), heap: Number(heap) });
  });
  try {
    go();
    await proc.waitFor(/^started$/);
    for (let i = 0; i < 50; i++) await producer.waitFor!(await producer.enqueueOne({ i }));
    const server = String(await r.admin.sendCommand(["INFO", "server"]));
    const pids = { worker: proc.pid, "producer and waiter": process.pid };
    const all = { ...pids, redis: Number(/process_id:(\d+)/.exec(server)?.[1]) };
    const switches0 = Object.values(all).map(involuntary);
    const jobs: Job[] = [];
    for (let i = 0; i < n; i++) {
      const heap0 = heapSize();
      const t0 = nowMs();
      const id = await producer.enqueueOne({ i });
      const t1 = nowMs();
      await producer.waitFor!(id);
      const woke = nowMs();
      jobs.push({ id, total: woke - t0, enqueue: t1 - t0, t0, woke, gcHere: heapSize() < heap0 });
    }
    const switches = Object.values(all).map((pid, k) => (involuntary(pid) - switches0[k]!) / n);
    await Bun.sleep(100); // the last `done` lines
    return describe(jobs, recorded, Object.keys(all), switches);
  } finally {
    await producer.close();
    await proc.stop();
  }
}

function describe(
  jobs: Job[],
  recorded: Map<string, { at: number; heap: number }>,
  names: string[],
  switches: number[],
): string[] {
  const gcWorker = new Set<string>();
  jobs.forEach((j, k) => {
    const before = recorded.get(jobs[k - 1]?.id ?? "")?.heap;
    const now = recorded.get(j.id)?.heap;
    if (before !== undefined && now !== undefined && now < before) gcWorker.add(j.id);
  });
  const gc = (j: Job) => j.gcHere || gcWorker.has(j.id);
  const slow = [...jobs].sort((a, b) => b.total - a.total).slice(0, Math.ceil(jobs.length / 100));
  const split = (set: Job[]) => {
    const parts = set.flatMap((j) => {
      const at = recorded.get(j.id)?.at;
      return at === undefined ? [] : [[j.enqueue, at - j.t0 - j.enqueue, j.woke - at]];
    });
    return [0, 1, 2]
      .map((k) =>
        pct(
          parts.map((p) => p[k]!),
          50,
        ),
      )
      .join(" → ");
  };
  const withGc = jobs.filter(gc).map((j) => j.total);
  const without = jobs.filter((j) => !gc(j)).map((j) => j.total);
  const totals = jobs.map((j) => j.total);
  return [
    `| ${jobs.length} | ${pct(totals, 50)} / ${pct(totals, 99)} / ${pct(totals, 100)} | ${split(jobs)} | ${split(slow)} | ${jobs.filter(gc).length} (${slow.filter(gc).length} of the slowest ${slow.length}) | ${pct(withGc, 50)} / ${pct(without, 50)}, p99 without ${pct(without, 99)} | ${names.map((name, k) => `${name} ${round(switches[k]!)}`).join(", ")} | ${totals.filter((t) => t >= 1_000).length} |`,
  ];
}

if (import.meta.main) {
  const n = Number(process.argv[2] ?? 3_000);
  const runs = Number(process.argv[3] ?? 3);
  const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const out = [
    `Courier's waiter latency, ${runs} run(s) of ${n} jobs, load average ${load()} at the start:`,
    "",
    "| jobs | p50 / p99 / max ms | median split ms: enqueue → recorded → woke | the same, slowest 1% | jobs with a GC | p50 with / without a GC | involuntary switches per job | past 1 s |",
    "|--:|---|---|---|---|---|---|--:|",
  ];
  for (let k = 0; k < runs; k++) out.push(...(await withRedis(false, (r) => run(r, n))));
  out.push("", `load average ${load()} at the end`);
  console.log(out.join("\n"));
}
