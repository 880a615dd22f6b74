// `trigger --file` with a million URLs, as a user runs it: the whole `bun bin/trigger.ts`
// process, from spawn to exit, its ids read from its stdout, against a redis-server of its own
// (persistence off). Prints one JSON line per round and a summary line with the medians:
// jobs/s and the process's peak RSS, beside the targets of issue 10. Peak RSS is the kernel's
// high-water mark (VmHWM), read every 10 ms while it runs: getrusage's maxrss of a spawned
// child also counts the copy of this process it was forked from, 40 MB more here.
//
//   bun bench/trigger-file.ts [--lines 1000000] [--rounds 3] [--aof]
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { queueKeys } from "../lib/index.ts";
import { nowMs, ROOT, urlEnv } from "./_proc.ts";
import { type BenchRedis, flush, withRedis } from "./_redis.ts";

const TARGET = { jobsPerS: 127_000, peakRssMB: 200 };

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "3" },
    aof: { type: "boolean", default: false },
  },
});
const lines = Number(values.lines);
const rounds = Number(values.rounds);

interface Round {
  seconds: number;
  jobsPerS: number;
  peakRssMB: number;
}

/** One run of the CLI; throws unless it printed one id per line and enqueued them all. */
async function once(redis: BenchRedis, file: string, round: number): Promise<Round> {
  await flush(redis.admin);
  const queue = `trigger-file-${round}`;
  const cmd = [process.execPath, join(ROOT, "bin/trigger.ts"), "--file", file];
  cmd.push("--queue", queue, "--prefix", "bench");
  const env = { ...process.env, ...urlEnv(redis.url) };
  const t0 = nowMs();
  const proc = Bun.spawn({ cmd, cwd: ROOT, env, stdout: "pipe", stderr: "pipe" });
  let peakKb = 0;
  const sampler = setInterval(() => {
    peakKb = Math.max(peakKb, highWaterKb(proc.pid));
  }, 10);
  let ids = 0;
  for await (const chunk of proc.stdout) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) ids++;
  }
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const seconds = (nowMs() - t0) / 1_000;
  clearInterval(sampler);
  if (code !== 0) throw new Error(`trigger --file exited ${code}: ${err}`);
  const stats = queueKeys("bench", queue).stats;
  const enqueued = Number(await redis.admin.sendCommand(["HGET", stats, "enqueued"]));
  if (ids !== lines || enqueued !== lines) {
    throw new Error(`${lines} lines: ${ids} ids printed, ${enqueued} enqueued`);
  }
  const peakRssMB = Math.round(peakKb / 1024);
  return { seconds, jobsPerS: Math.round(lines / seconds), peakRssMB };
}

/** VmHWM of a live process in KiB; 0 once it has exited. */
function highWaterKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const file = join(tmpdir(), `courier-bench-trigger-${process.pid}.txt`);
writeFileSync(
  file,
  Array.from({ length: lines }, (_, i) => `https://example.org/p/${i}\n`).join(""),
);
try {
  const results = await withRedis(values.aof, async (redis) => {
    const out: Round[] = [];
    for (let round = 1; round <= rounds; round++) {
      const r = await once(redis, file, round);
      console.log(JSON.stringify({ name: "enqueue.trigger-file", round, lines, ...r }));
      out.push(r);
    }
    return out;
  });
  const jobsPerS = median(results.map((r) => r.jobsPerS));
  const peakRssMB = Math.max(...results.map((r) => r.peakRssMB));
  const met = jobsPerS > TARGET.jobsPerS && peakRssMB < TARGET.peakRssMB;
  const loadavg = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).map(Number);
  const summary = { name: "enqueue.trigger-file", lines, rounds, aof: values.aof, jobsPerS };
  console.log(JSON.stringify({ ...summary, peakRssMB, target: TARGET, met, loadavg }));
} finally {
  rmSync(file, { force: true });
}
