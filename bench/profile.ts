// `--only profile`: where a Courier no-op job's time goes. Counts every command per job by
// name (MONITOR: sent by the client, or run inside a script) for Courier, BullMQ and the raw
// loop, and CPU-profiles one Courier worker process (`bun --cpu-prof-md`) at concurrency 128.
// Writes profile.md next to the JSON lines; the figures are the profile's shares by origin.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { round } from "./_figures.ts";
import { BENCH_DIR, nowMs, spawnProc } from "./_proc.ts";
import { flush, type Monitored } from "./_redis.ts";
import { courier } from "./contenders/courier.ts";
import {
  type Ctx,
  enqueueInChunks,
  freshQueue,
  pick,
  waitForResults,
} from "./workloads/_common.ts";
import { monitored } from "./workloads/cost.ts";

export async function profile(ctx: Ctx): Promise<void> {
  const sections: string[] = [];
  for (const c of pick(ctx, ["courier", "bullmq", "raw"])) {
    ctx.log(`profile: ${c.name} commands per job under MONITOR (${ctx.size.monitored} jobs)`);
    sections.push(
      commandTable(c.name, await monitored(ctx, c, ctx.size.monitored), ctx.size.monitored),
    );
  }
  ctx.log(`profile: CPU profile of a Courier worker process (${ctx.size.noop} no-op jobs, c128)`);
  const { md, seconds } = await cpuProfile(ctx, ctx.size.noop);
  const rows = hotFunctions(md);
  const total = rows.reduce((s, r) => s + r.selfMs, 0);
  const byOrigin = new Map<string, number>();
  for (const r of rows) byOrigin.set(r.origin, (byOrigin.get(r.origin) ?? 0) + r.selfMs);
  for (const [origin, ms] of byOrigin)
    ctx.rec.add(`profile.cpu.${origin}`, "courier", "%", (100 * ms) / total);
  sections.push(
    [
      `## CPU profile of one Courier worker process (${ctx.size.noop} no-op jobs, concurrency 128)`,
      "",
      `${round(ctx.size.noop / seconds)} jobs/s under the profiler; ${round(total)} ms of samples.`,
      "",
      "| origin | self % |",
      "|---|---:|",
      ...[...byOrigin]
        .sort((a, b) => b[1] - a[1])
        .map(([o, ms]) => `| ${o} | ${round((100 * ms) / total)} |`),
      "",
      "| self % | self ms | function | location |",
      "|---:|---:|---|---|",
      ...rows
        .slice(0, 25)
        .map(
          (r) =>
            `| ${round((100 * r.selfMs) / total)} | ${round(r.selfMs)} | \`${r.fn}\` | ${r.location} |`,
        ),
    ].join("\n"),
  );
  const out = join(ctx.outDir, "profile.md");
  writeFileSync(out, `# Courier no-op profile\n\n${sections.join("\n\n")}\n`);
  ctx.log(`profile: written to ${out}`);
}

function commandTable(name: string, m: Monitored, n: number): string {
  const names = [...new Set([...m.client.keys(), ...m.script.keys()])];
  const per = (map: Map<string, number>, k: string) => round((map.get(k) ?? 0) / n);
  names.sort((a, b) => per(m.client, b) + per(m.script, b) - (per(m.client, a) + per(m.script, a)));
  const total = (map: Map<string, number>) =>
    round([...map.values()].reduce((s, v) => s + v, 0) / n);
  return [
    `## ${name}: commands per job (${n} no-op jobs enqueued in bulk, one worker at concurrency 128)`,
    "",
    "| command | sent by the client | run inside a script |",
    "|---|---:|---:|",
    ...names.map((k) => `| ${k} | ${per(m.client, k)} | ${per(m.script, k)} |`),
    `| **total** | **${total(m.client)}** | **${total(m.script)}** |`,
  ].join("\n");
}

/** Runs a Courier worker process under `bun --cpu-prof-md` and returns the profile text. */
async function cpuProfile(ctx: Ctx, n: number): Promise<{ md: string; seconds: number }> {
  await flush(ctx.redis.admin);
  const queue = freshQueue("courier");
  const producer = await courier.producer(ctx.redis.url, queue, "noop");
  try {
    await enqueueInChunks(producer, n, (i) => ({ i }));
  } finally {
    await producer.close();
  }
  const dir = mkdtempSync(join(tmpdir(), "courier-bench-prof-"));
  const spec = {
    url: ctx.redis.url,
    queue,
    concurrency: 128,
    task: "noop" as const,
    notify: false,
  };
  const proc = spawnProc([
    process.execPath,
    "--cpu-prof-md",
    `--cpu-prof-dir=${dir}`,
    join(BENCH_DIR, "worker-proc.ts"),
    "courier",
    JSON.stringify(spec),
  ]);
  try {
    await proc.waitFor(/^ready$/);
    const t0 = nowMs();
    proc.send("go");
    await waitForResults(ctx, courier, queue, n, [proc]);
    const seconds = (nowMs() - t0) / 1_000;
    await proc.stop();
    const file = readdirSync(dir).find((f) => f.endsWith(".md"));
    if (!file) throw new Error("bun --cpu-prof-md wrote no profile");
    return { md: readFileSync(join(dir, file), "utf8"), seconds };
  } finally {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Hot {
  selfMs: number;
  fn: string;
  location: string;
  origin: string;
}

/** The "Hot Functions (Self Time)" table of a `--cpu-prof-md` profile. */
export function hotFunctions(md: string): Hot[] {
  const start = md.indexOf("## Hot Functions");
  const end = md.indexOf("\n## ", start + 1);
  const rows: Hot[] = [];
  for (const line of md.slice(start, end < 0 ? undefined : end).split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const self = /^([\d.]+)(us|ms|s)$/.exec(cells[2] ?? "");
    if (!self) continue;
    const scale = self[2] === "us" ? 0.001 : self[2] === "s" ? 1_000 : 1;
    const location = (cells[6] ?? "").replaceAll("`", "").replace(`${join(BENCH_DIR, "..")}/`, "");
    rows.push({
      selfMs: Number(self[1]) * scale,
      fn: (cells[5] ?? "").replaceAll("`", ""),
      location,
      origin: origin(location),
    });
  }
  return rows;
}

function origin(location: string): string {
  if (location.includes("node_modules/@redis/")) return "node-redis";
  if (location.startsWith("lib/")) return "courier-lib";
  if (location.startsWith("bench/")) return "bench";
  if (location === "[native code]") return "native";
  return "runtime";
}
