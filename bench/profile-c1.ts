// `bun bench/profile-c1.ts [jobs]`: where a job's time goes at concurrency 1 and at low load
// (docs/performance.md, "Engine v2: why concurrency 1 and latency miss"). Per contender, on
// its own redis-server (persistence off):
// 1. No-op jobs queued first, one worker process at concurrency 1: wall µs per job, the
//    worker's CPU and Redis' CPU per job (/proc, INFO cpu), and Redis calls and µs per job by
//    command (INFO commandstats: a script's µs includes the commands it runs).
// 2. Commands per job under MONITOR at concurrency 1 (sent by the client / run in a script).
// 3. The latency loop (enqueue one job, wait for it through the library, concurrency 16 as
//    the bench's latency workload): the same CPU and commandstats figures per job.
// Prints Markdown. Nothing here is asserted: it is for the engineer making these faster.
import { summarise } from "./_cpuprofile.ts";
import { round } from "./_figures.ts";
import { nowMs, ROOT } from "./_proc.ts";
import { type BenchRedis, commandStats, flush, monitor, redisCpuS, withRedis } from "./_redis.ts";
import { bullmq } from "./contenders/bullmq.ts";
import { courier } from "./contenders/courier.ts";
import { raw } from "./contenders/raw.ts";
import type { ContenderImpl } from "./contenders/types.ts";
import { cpuProfile } from "./profile.ts";
import {
  type Ctx,
  enqueueInChunks,
  freshQueue,
  startWorkers,
  waitForResults,
} from "./workloads/_common.ts";

type Stats = Awaited<ReturnType<typeof commandStats>>;
const payload = (i: number) => ({ i });

function perJob(before: Stats, after: Stats, n: number, skip: Set<string>): string[] {
  const rows: string[] = [];
  for (const [name, s] of after) {
    if (skip.has(name)) continue;
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    const calls = (s.calls - b.calls) / n;
    if (calls < 0.001) continue;
    rows.push(`| ${name} | ${round(calls)} | ${round((s.usec - b.usec) / n)} |`);
  }
  return rows;
}

const SKIP = new Set(["info", "echo", "flushall", "monitor", "hget", "hlen", "zcard"]);

async function c1(r: BenchRedis, c: ContenderImpl, n: number): Promise<string> {
  const ctx = { redis: r } as Ctx;
  await flush(r.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(r.url, queue, "noop");
  await enqueueInChunks(producer, n, payload);
  await producer.close();
  const spec = { url: r.url, queue, concurrency: 1, task: "noop" as const, notify: false };
  const { procs, go } = await startWorkers(c, spec, 1);
  const proc = procs[0]!;
  try {
    const [cpu0, redis0, s0] = [proc.cpuS(), await redisCpuS(r.admin), await commandStats(r.admin)];
    const t0 = nowMs();
    go();
    await waitForResults(ctx, c, queue, n, procs);
    const wallUs = ((nowMs() - t0) * 1000) / n;
    const workerUs = ((proc.cpuS() - cpu0) / n) * 1e6;
    const redisUs = (((await redisCpuS(r.admin)) - redis0) / n) * 1e6;
    const s1 = await commandStats(r.admin);
    return [
      `### ${c.name}, concurrency 1 (${n} no-op jobs queued first)`,
      "",
      `${round(1e6 / wallUs)} jobs/s: ${round(wallUs)} µs per job; worker CPU ${round(workerUs)} µs, Redis CPU ${round(redisUs)} µs per job (the rest: both waiting on each other, the kernel's wake-ups).`,
      "",
      "| command (commandstats; the bench's polls left out) | calls/job | µs/job |",
      "|---|---:|---:|",
      ...perJob(s0, s1, n, SKIP),
    ].join("\n");
  } finally {
    await proc.stop();
  }
}

async function monitoredC1(r: BenchRedis, c: ContenderImpl, n: number): Promise<string> {
  const ctx = { redis: r } as Ctx;
  await flush(r.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(r.url, queue, "noop");
  await enqueueInChunks(producer, n, payload);
  const spec = { url: r.url, queue, concurrency: 1, task: "noop" as const, notify: false };
  const { procs, go } = await startWorkers(c, spec, 1);
  try {
    const m = await monitor(r, async () => {
      go();
      await waitForResults(ctx, c, queue, n, procs);
    });
    const names = [...new Set([...m.client.keys(), ...m.script.keys()])].filter(
      (k) => !SKIP.has(k),
    );
    const per = (map: Map<string, number>, k: string) => round((map.get(k) ?? 0) / n);
    return [
      `### ${c.name}: commands per job at concurrency 1 (MONITOR, ${n} jobs)`,
      "",
      "| command | sent by the client | run inside a script |",
      "|---|---:|---:|",
      ...names.map((k) => `| ${k} | ${per(m.client, k)} | ${per(m.script, k)} |`),
    ].join("\n");
  } finally {
    await producer.close();
    await procs[0]!.stop();
  }
}

async function latency(r: BenchRedis, c: ContenderImpl, n: number): Promise<string> {
  await flush(r.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(r.url, queue, "noop");
  const spec = { url: r.url, queue, concurrency: 16, task: "noop" as const, notify: false };
  const { procs, go } = await startWorkers(c, spec, 1);
  const proc = procs[0]!;
  try {
    go();
    await proc.waitFor(/^started$/);
    for (let i = 0; i < 50; i++) await producer.waitFor!(await producer.enqueueOne({ i }));
    const [cpu0, redis0, s0] = [proc.cpuS(), await redisCpuS(r.admin), await commandStats(r.admin)];
    const bench0 = process.cpuUsage();
    const waits: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = nowMs();
      await producer.waitFor!(await producer.enqueueOne({ i }));
      waits.push(nowMs() - t0);
    }
    const bench1 = process.cpuUsage(bench0);
    const workerUs = ((proc.cpuS() - cpu0) / n) * 1e6;
    const redisUs = (((await redisCpuS(r.admin)) - redis0) / n) * 1e6;
    const s1 = await commandStats(r.admin);
    waits.sort((a, b) => a - b);
    const p = (q: number) => round(waits[Math.floor((q / 100) * (waits.length - 1))]!);
    const benchUs = (bench1.user + bench1.system) / n;
    return [
      `### ${c.name}: one job at a time, enqueue → library wait (${n} jobs, worker concurrency 16)`,
      "",
      `Waiter p50 ${p(50)} ms, p90 ${p(90)} ms, p99 ${p(99)} ms; per job: worker CPU ${round(workerUs)} µs, Redis CPU ${round(redisUs)} µs, producer + waiter process CPU ${round(benchUs)} µs.`,
      "",
      "| command (commandstats) | calls/job | µs/job |",
      "|---|---:|---:|",
      ...perJob(s0, s1, n, new Set(["info"])),
    ].join("\n");
  } finally {
    await producer.close();
    await proc.stop();
  }
}

async function profiled(r: BenchRedis, n: number): Promise<string> {
  const ctx = { redis: r } as Ctx;
  const { profile: p, seconds } = await cpuProfile(ctx, n, 1);
  const s = summarise(p, ROOT);
  const pct = (x: number) => round((100 * x) / s.samples);
  return [
    `### CPU profile of a Courier worker at concurrency 1 (${n} no-op jobs)`,
    "",
    `${round(n / seconds)} jobs/s under the profiler; ${s.samples} samples of 1 ms with JavaScript running: ${round((s.samples / n) * 1000)} µs per job.`,
    "",
    "| caller | % of samples |",
    "|---|---:|",
    ...[...s.byCaller].sort((a, b) => b[1] - a[1]).map(([o, k]) => `| ${o} | ${pct(k)} |`),
    "",
    "| % | function | location |",
    "|---:|---|---|",
    ...s.hot.slice(0, 15).map((h) => `| ${pct(h.samples)} | \`${h.fn}\` | ${h.location} |`),
  ].join("\n");
}

if (import.meta.main) {
  const n = Number(process.argv[2] ?? 20_000);
  const out: string[] = [];
  for (const c of [courier, bullmq, raw]) {
    out.push(await withRedis(false, (r) => c1(r, c, n)));
    out.push(await withRedis(false, (r) => monitoredC1(r, c, 500)));
    if (c !== raw) out.push(await withRedis(false, (r) => latency(r, c, Math.min(n, 2_000))));
    console.error(`profile-c1: ${c.name} done`);
  }
  out.push(await withRedis(false, (r) => profiled(r, n)));
  console.log(out.join("\n\n"));
}
