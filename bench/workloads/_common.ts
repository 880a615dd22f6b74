// What every workload shares: its context, fresh queue names, and "enqueue N jobs, start K
// worker processes, time them until N results are recorded".
import type { Recorder } from "../_figures.ts";
import { nowMs, spawnProc, type WorkerProc } from "../_proc.ts";
import { type BenchRedis, commandStats, flush, redisCpuS } from "../_redis.ts";
import { callsBetween, topLevelUsec } from "../_usec.ts";
import type { ContenderImpl, Producer, TaskKind, WorkerSpec } from "../contenders/types.ts";
import type { Size } from "../sizes.ts";

export interface Ctx {
  redis: BenchRedis;
  size: Size;
  rounds: number;
  rec: Recorder;
  /** Contenders chosen with --contenders (each workload uses those it supports). */
  contenders: readonly ContenderImpl[];
  /** Concurrency of the Courier and BullMQ workers in the I/O-bound workload. */
  ioConcurrency: number;
  /** Jobs each latency round runs before it measures (connections, scripts, the compiler). */
  latencyWarmup: number;
  /** The Redis of this pass: persistence off, or AOF everysec. */
  persistence: "off" | "aof";
  /** Where files other than the JSON lines go (profile.md). */
  outDir: string;
  /** Progress for humans, on stderr. */
  log: (message: string) => void;
}

export type Workload = (ctx: Ctx) => Promise<void>;

let counter = 0;
/** A queue name no earlier measurement used (Redis is also flushed between measurements). */
export function freshQueue(contender: string): string {
  return `${contender}-${process.pid}-${++counter}`;
}

/**
 * The contenders in the order they run in `round` (from 1): each round starts with the next
 * one, so none always runs first (on a fresh Redis) or last (after the others warmed it).
 */
export function inTurn<T>(contenders: readonly T[], round: number): T[] {
  const k = contenders.length ? (round - 1) % contenders.length : 0;
  return [...contenders.slice(k), ...contenders.slice(0, k)];
}

export function pick(ctx: Ctx, names: readonly string[]): ContenderImpl[] {
  return ctx.contenders.filter((c) => names.includes(c.name));
}

/** Enqueues in chunks, so a million specs never sit in memory at once. */
export async function enqueueInChunks(
  producer: Producer,
  n: number,
  payload: (i: number) => unknown,
  chunk = 50_000,
): Promise<void> {
  for (let i = 0; i < n; i += chunk) {
    const size = Math.min(chunk, n - i);
    await producer.enqueueBulk(Array.from({ length: size }, (_, j) => payload(i + j)));
  }
}

/** Starts `count` worker processes and resolves once each printed its ready line. */
export async function startWorkers(
  c: ContenderImpl,
  spec: WorkerSpec,
  count: number,
): Promise<{ procs: WorkerProc[]; go: () => void }> {
  const cmd = c.workerCommand(spec);
  const procs = Array.from({ length: count }, () => spawnProc(cmd.cmd, cmd.env));
  try {
    await Promise.all(procs.map((p) => p.waitFor(cmd.ready)));
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop(1_000)));
    throw err;
  }
  const go = () => {
    if (cmd.needsGo) for (const p of procs) p.send("go");
  };
  return { procs, go };
}

/**
 * Polls `finishedCommand` until it reports `n` results (every 5 ms: one cheap command, so the
 * figure is off by at most a few ms). `onCount` sees each count. Returns the number of polls,
 * so cost figures can leave the bench's own commands out. Throws if every worker has exited
 * first, or after `timeoutMs`.
 */
export async function waitForResults(
  ctx: Ctx,
  c: ContenderImpl,
  queue: string,
  n: number,
  procs: readonly WorkerProc[],
  onCount?: (count: number) => void,
  timeoutMs = 15 * 60_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void Promise.all(procs.map((p) => p.exited)).then(() => {
    exited = true;
  });
  let polls = 0;
  for (;;) {
    const wasExited = exited;
    polls++;
    const count = Number(await ctx.redis.admin.sendCommand(c.finishedCommand(queue)));
    onCount?.(count);
    if (count >= n) return polls;
    if (wasExited || Date.now() > deadline) {
      const why = wasExited ? "its worker processes exited" : `${timeoutMs} ms passed`;
      throw new Error(`${c.name}: ${count} of ${n} results recorded in ${queue} when ${why}`);
    }
    await Bun.sleep(5);
  }
}

export interface Processed {
  jobsPerS: number;
  /** CPU per job of the worker processes and of redis-server, in microseconds (if measurable). */
  workerCpuUs: number | undefined;
  redisCpuUs: number | undefined;
  /** Redis time per job in top-level calls (INFO commandstats), with `opts.inner` given. */
  redisUsec: number | undefined;
  /** Redis commands executed per job (INFO commandstats; those scripts run count too). */
  redisCalls: number;
}

/**
 * The no-op and I/O-bound measurement: flush Redis, enqueue `n` jobs, start `procs` worker
 * processes, and time from "go" (RQ: from its "Listening on" line) to the n-th recorded result.
 */
export async function processJobs(
  ctx: Ctx,
  c: ContenderImpl,
  opts: {
    n: number;
    procs: number;
    concurrency: number;
    task: TaskKind;
    payload: (i: number) => unknown;
    /** innerShares of a sample (bench/_usec.ts): asks for `redisUsec`. */
    inner?: Map<string, number>;
  },
): Promise<Processed> {
  await flush(ctx.redis.admin);
  const queue = freshQueue(c.name);
  const producer = await c.producer(ctx.redis.url, queue, opts.task);
  try {
    await enqueueInChunks(producer, opts.n, opts.payload);
  } finally {
    await producer.close();
  }
  const spec = {
    url: ctx.redis.url,
    queue,
    concurrency: opts.concurrency,
    task: opts.task,
    notify: false,
  };
  const { procs, go } = await startWorkers(c, spec, opts.procs);
  try {
    const cpu0 = procs.map((p) => p.cpuS());
    const [redis0, stats0] = [
      await redisCpuS(ctx.redis.admin),
      await commandStats(ctx.redis.admin),
    ];
    const t0 = nowMs();
    go();
    const polls = await waitForResults(ctx, c, queue, opts.n, procs);
    const seconds = (nowMs() - t0) / 1_000;
    const workerCpu = procs.reduce((s, p, i) => s + p.cpuS() - cpu0[i]!, 0);
    const redisCpu = (await redisCpuS(ctx.redis.admin)) - redis0;
    const stats1 = await commandStats(ctx.redis.admin);
    const ours = new Map([[c.finishedCommand(queue)[0]!.toLowerCase(), polls]]);
    const usec = opts.inner && topLevelUsec(stats0, stats1, opts.inner, ours);
    // /proc counts CPU in 10 ms ticks: below 50 ms the figure would be mostly rounding.
    const measurable = workerCpu >= 0.05;
    return {
      jobsPerS: opts.n / seconds,
      workerCpuUs: measurable ? (workerCpu / opts.n) * 1e6 : undefined,
      redisCpuUs: measurable ? (redisCpu / opts.n) * 1e6 : undefined,
      redisUsec: usec === undefined ? undefined : usec / opts.n,
      redisCalls: callsBetween(stats0, stats1, ours) / opts.n,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}
