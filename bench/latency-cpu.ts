// `bun bench/latency-cpu.ts [jobs] [runs]`: the CPU one job costs each process of the latency
// loop (docs/performance.md, "The CPU a waited-for job costs"). The bench's latency loop (one
// job at a time, enqueue → the library's wait, one worker process at concurrency 16; the same
// as bench/latency-curve.ts) after 200 warm-up jobs, for Courier, BullMQ and the raw Streams
// loop in turn on one redis-server, `runs` times each: the waiter's p50 and p99, the wall time
// per job, and each process's user and system CPU per job from /proc (every thread counted:
// the JavaScript compiler's and the collector's too), the Bun processes' split by thread name.
// On a machine of two cores the three processes take turns on them, so a job's latency follows
// the CPU all three spend on it. Prints Markdown. Nothing is asserted.

import { readdirSync, readFileSync } from "node:fs";
import { percentile, round } from "./_figures.ts";
import { nowMs } from "./_proc.ts";
import { flush, withRedis } from "./_redis.ts";
import { bullmq } from "./contenders/bullmq.ts";
import { courier } from "./contenders/courier.ts";
import { raw } from "./contenders/raw.ts";
import type { ContenderImpl } from "./contenders/types.ts";
import { freshQueue, inTurn, startWorkers } from "./workloads/_common.ts";

const [jobs = 3_000, runs = 2] = process.argv.slice(2).map(Number);
if (![jobs, runs].every((n) => Number.isInteger(n) && n > 0)) {
  console.error("usage: bun bench/latency-cpu.ts [jobs] [runs] (whole numbers > 0)");
  process.exit(2);
}
const WARMUP = 200;
/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICK_US = 10_000;

/** CPU µs of each thread of `pid` by thread name (digits folded: `JITWorker`, `bun`), user and system. */
function threads(pid: number): Map<string, [number, number]> {
  const by = new Map<string, [number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/\d+/g, "#");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [u, s] = by.get(name) ?? [0, 0];
    by.set(name, [u + Number(f[11]) * TICK_US, s + Number(f[12]) * TICK_US]);
  }
  return by;
}

type Usage = Map<string, [number, number]>;
const total = (u: Usage) => [...u.values()].reduce(([a, b], [c, d]) => [a + c, b + d], [0, 0]);
const perJob = (us: number) => round(us / jobs);

async function run(
  url: string,
  admin: Parameters<typeof flush>[0],
  redisPid: number,
  c: ContenderImpl,
) {
  await flush(admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(url, queue, "noop");
  // The raw loop's waiter pops what its worker pushes only with `notify`; the others need none.
  const spec = { url, queue, concurrency: 16, task: "noop" as const, notify: c.name === "raw" };
  const { procs, go } = await startWorkers(c, spec, 1);
  const proc = procs[0]!;
  try {
    go();
    await proc.waitFor(/^started$/).catch(() => {}); // BullMQ's and raw's start at once
    for (let i = 0; i < WARMUP; i++) await producer.waitFor!(await producer.enqueueOne({ i }));
    const pids = { worker: proc.pid, "producer and waiter": process.pid, redis: redisPid };
    const before = Object.values(pids).map(threads);
    const waits: number[] = [];
    const t0 = nowMs();
    for (let i = 0; i < jobs; i++) {
      const at = nowMs();
      await producer.waitFor!(await producer.enqueueOne({ i }));
      waits.push(nowMs() - at);
    }
    const wall = nowMs() - t0;
    const used = Object.values(pids).map((pid, k) => {
      const after = threads(pid);
      const d: Usage = new Map();
      for (const [name, [u, s]] of after) {
        const [u0, s0] = before[k]!.get(name) ?? [0, 0];
        d.set(name, [u - u0, s - s0]);
      }
      return d;
    });
    const cells = used.map((u) => {
      const [user, sys] = total(u);
      return `${perJob(user)} + ${perJob(sys)}`;
    });
    const all = used.reduce((sum, u) => sum + total(u)[0] + total(u)[1], 0);
    const named = used.slice(0, 2).map((u) =>
      [...u]
        .map(([name, [a, b]]) => [name, a + b] as const)
        .filter(([, us]) => us / jobs >= 5)
        .sort((a, b) => b[1] - a[1])
        .map(([name, us]) => `${name} ${perJob(us)}`)
        .join(", "),
    );
    return `| ${c.name} | ${round(percentile(waits, 50))} / ${round(percentile(waits, 99))} | ${perJob(wall * 1_000)} | ${cells.join(" | ")} | ${perJob(all)} | ${named.join("; ")} |`;
  } finally {
    await producer.close();
    await proc.stop();
  }
}

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const out = [
  `CPU per waited-for job, ${runs} run(s) of ${jobs} jobs each after ${WARMUP} warm-up jobs, load average ${load()} at the start (µs per job; CPU as user + system):`,
  "",
  "| contender | waiter p50 / p99 ms | wall | worker | producer and waiter | redis-server | all three | by thread (worker; producer) |",
  "|---|---|--:|--:|--:|--:|--:|---|",
];
await withRedis(false, async (r) => {
  const server = String(await r.admin.sendCommand(["INFO", "server"]));
  const redisPid = Number(/process_id:(\d+)/.exec(server)?.[1]);
  for (let k = 1; k <= runs; k++) {
    for (const c of inTurn([courier, bullmq, raw], k)) {
      console.error(`run ${k}: ${c.name} (${jobs} jobs)`);
      out.push(await run(r.url, r.admin, redisPid, c));
    }
  }
});
out.push("", `load average ${load()} at the end`);
console.log(out.join("\n"));
