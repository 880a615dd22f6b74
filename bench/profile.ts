// `--only profile`: where a no-op job's time goes, for the engineer who makes it faster.
// 1. Commands per job by name, sent by the client or run inside a script (MONITOR).
// 2. Redis time per job by command, enqueue and processing apart (INFO commandstats, and
//    INFO cpu for Redis' whole CPU: parsing and replies included).
// 3. A CPU profile of one Courier worker process (`bun --cpu-prof`), in samples.
// Writes profile.md next to the JSON lines; the figures are the worker's CPU by caller.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CpuProfile, summarise } from "./_cpuprofile.ts";
import { round } from "./_figures.ts";
import { BENCH_DIR, nowMs, ROOT, spawnProc, urlEnv } from "./_proc.ts";
import { commandStats, flush, type Monitored, redisCpuS } from "./_redis.ts";
import { courier } from "./contenders/courier.ts";
import type { ContenderImpl } from "./contenders/types.ts";
import {
  type Ctx,
  enqueueInChunks,
  freshQueue,
  pick,
  startWorkers,
  waitForResults,
} from "./workloads/_common.ts";
import { monitored } from "./workloads/cost.ts";

const payload = (i: number) => ({ i });

export async function profile(ctx: Ctx): Promise<void> {
  const sections: string[] = [];
  for (const c of pick(ctx, ["courier", "bullmq", "raw"])) {
    const n = ctx.size.monitored;
    ctx.log(`profile: ${c.name} commands per job under MONITOR (${n} jobs)`);
    sections.push(commandTable(c.name, await monitored(ctx, c, n), n));
    ctx.log(`profile: ${c.name} Redis time per job (${ctx.size.queued} jobs)`);
    sections.push(await redisTime(ctx, c, ctx.size.queued));
  }
  const n = ctx.size.noop;
  ctx.log(`profile: CPU profile of a Courier worker process (${n} no-op jobs, c128)`);
  sections.push(await cpuSection(ctx, n));
  const out = join(ctx.outDir, "profile.md");
  writeFileSync(out, `# Where a no-op job's time goes\n\n${sections.join("\n\n")}\n`);
  ctx.log(`profile: written to ${out}`);
}

function commandTable(name: string, m: Monitored, n: number): string {
  const per = (map: Map<string, number>, k: string) => round((map.get(k) ?? 0) / n);
  // Commands sent less than once per thousand jobs (start-up, timers) are left out.
  const names = [...new Set([...m.client.keys(), ...m.script.keys()])]
    .filter((k) => per(m.client, k) + per(m.script, k) > 0)
    .sort((a, b) => per(m.client, b) + per(m.script, b) - (per(m.client, a) + per(m.script, a)));
  const total = (map: Map<string, number>) =>
    round([...map.values()].reduce((s, v) => s + v, 0) / n);
  return [
    `## ${name}: commands per job (MONITOR; ${n} no-op jobs enqueued in bulk, one worker at concurrency 128)`,
    "",
    "| command | sent by the client | run inside a script |",
    "|---|---:|---:|",
    ...names.map((k) => `| ${k} | ${per(m.client, k)} | ${per(m.script, k)} |`),
    `| **total** | **${total(m.client)}** | **${total(m.script)}** |`,
  ].join("\n");
}

type Stats = Map<string, { calls: number; usec: number }>;

/** Redis time per job by command while enqueueing `n` jobs, then while processing them. */
async function redisTime(ctx: Ctx, c: ContenderImpl, n: number): Promise<string> {
  const { admin } = ctx.redis;
  await flush(admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(ctx.redis.url, queue, "noop");
  const [s0, cpu0] = [await commandStats(admin), await redisCpuS(admin)];
  try {
    await enqueueInChunks(producer, n, payload);
  } finally {
    await producer.close();
  }
  const [s1, cpu1] = [await commandStats(admin), await redisCpuS(admin)];
  const spec = {
    url: ctx.redis.url,
    queue,
    concurrency: 128,
    task: "noop" as const,
    notify: false,
  };
  const { procs, go } = await startWorkers(c, spec, 1);
  let polls = 0;
  try {
    go();
    polls = await waitForResults(ctx, c, queue, n, procs);
  } finally {
    await procs[0]!.stop();
  }
  const [s2, cpu2] = [await commandStats(admin), await redisCpuS(admin)];
  const enqueue = delta(s0, s1, n);
  const processing = delta(s1, s2, n, c.finishedCommand(queue)[0]!.toLowerCase(), polls);
  // As above, commands run less than once per thousand jobs are left out.
  const names = [...new Set([...enqueue.keys(), ...processing.keys()])]
    .filter((k) => round((enqueue.get(k)?.calls ?? 0) + (processing.get(k)?.calls ?? 0)) > 0)
    .sort((a, b) => total(b) - total(a));
  function total(k: string) {
    return (enqueue.get(k)?.usec ?? 0) + (processing.get(k)?.usec ?? 0);
  }
  const cell = (m: Stats, k: string) =>
    m.has(k) ? `${round(m.get(k)!.calls)} | ${round(m.get(k)!.usec)}` : "- | -";
  const us = (a: number, b: number) => round(((b - a) / n) * 1e6);
  return [
    `## ${c.name}: Redis time per job (INFO commandstats; ${n} no-op jobs, then one worker at concurrency 128)`,
    "",
    `Redis CPU per job (INFO cpu: commands, parsing, replies, networking): enqueue ${us(cpu0, cpu1)} µs, processing ${us(cpu1, cpu2)} µs. A script's time (evalsha, eval) includes the commands it runs, listed under their own names too.`,
    "",
    "| command | enqueue calls/job | enqueue µs/job | processing calls/job | processing µs/job |",
    "|---|---:|---:|---:|---:|",
    ...names.map((k) => `| ${k} | ${cell(enqueue, k)} | ${cell(processing, k)} |`),
  ].join("\n");
}

/** Per-job calls and µs between two snapshots, less the bench's own polls and INFO calls. */
function delta(before: Stats, after: Stats, n: number, poll = "", polls = 0): Stats {
  const out: Stats = new Map();
  for (const [name, s] of after) {
    if (name === "info") continue;
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    let [calls, usec] = [s.calls - b.calls, s.usec - b.usec];
    if (name === poll && calls > 0) {
      usec -= (usec / calls) * Math.min(polls, calls);
      calls -= Math.min(polls, calls);
    }
    if (calls > 0) out.set(name, { calls: calls / n, usec: usec / n });
  }
  return out;
}

async function cpuSection(ctx: Ctx, n: number): Promise<string> {
  const { profile: p, seconds } = await cpuProfile(ctx, n);
  const s = summarise(p, ROOT);
  const pct = (x: number) => round((100 * x) / s.samples);
  for (const [caller, k] of s.byCaller)
    ctx.rec.add(`profile.cpu.${caller}`, "courier", "%", pct(k));
  return [
    `## CPU profile of one Courier worker process (${n} no-op jobs, concurrency 128)`,
    "",
    `${round(n / seconds)} jobs/s under the profiler; ${s.samples} samples of 1 ms with JavaScript running (idle time not counted), i.e. ${round((s.samples / n) * 1000)} µs per job.`,
    "",
    "By the code that asked for the work (native functions charged to their nearest caller):",
    "",
    "| caller | % of samples |",
    "|---|---:|",
    ...[...s.byCaller].sort((a, b) => b[1] - a[1]).map(([o, k]) => `| ${o} | ${pct(k)} |`),
    "",
    "Functions by their own samples:",
    "",
    "| % | function | location |",
    "|---:|---|---|",
    ...s.hot.slice(0, 25).map((h) => `| ${pct(h.samples)} | \`${h.fn}\` | ${h.location} |`),
  ].join("\n");
}

/** Runs a Courier worker process under `bun --cpu-prof` and returns its profile (bench/profile-c1.ts: at concurrency 1). */
export async function cpuProfile(
  ctx: Ctx,
  n: number,
  concurrency = 128,
): Promise<{ profile: CpuProfile; seconds: number }> {
  await flush(ctx.redis.admin);
  const queue = freshQueue("courier");
  const producer = await courier.producer(ctx.redis.url, queue, "noop");
  try {
    await enqueueInChunks(producer, n, payload);
  } finally {
    await producer.close();
  }
  const dir = mkdtempSync(join(tmpdir(), "courier-bench-prof-"));
  const spec = { queue, concurrency, task: "noop", notify: false };
  const script = join(BENCH_DIR, "worker-proc.ts");
  const cmd = [process.execPath, "--cpu-prof", `--cpu-prof-dir=${dir}`, script, "courier"];
  const proc = spawnProc([...cmd, JSON.stringify(spec)], urlEnv(ctx.redis.url));
  try {
    await proc.waitFor(/^ready$/);
    const t0 = nowMs();
    proc.send("go");
    await waitForResults(ctx, courier, queue, n, [proc]);
    const seconds = (nowMs() - t0) / 1_000;
    await proc.stop();
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error("bun --cpu-prof wrote no profile");
    return { profile: JSON.parse(readFileSync(join(dir, file), "utf8")), seconds };
  } finally {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
