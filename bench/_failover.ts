// One failover run (issue 12, research §5 tests 7 and 8), shared by bench/cluster-failover.ts
// (3 runs, a table) and tests/cluster.failover.load.test.ts (1 run, asserted): a fresh 3+3
// cluster (full coverage off, node timeout 1000), a 6-shard queue, one producer loop per shard
// enqueueing through Queue, one Worker running no-op jobs; `kill -9` the master of shard 0,
// keep going, then drain and reconcile every acknowledged job against Redis.
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { Queue } from "../lib/queue/queue.ts";
import { destroy } from "../lib/redis/close.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { startCluster } from "../lib/stack/cluster.ts";
import { defineTask } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";

const SHARDS = 6;
const QUEUE = "fo";

export interface ShardFigures {
  shard: number;
  port: number;
  /** On the killed master. */
  killed: boolean;
  /** Enqueues acknowledged. */
  acked: number;
  /** Errors the application saw from enqueue on this shard. */
  errors: number;
  /** The end of the longest pause between acknowledged enqueues, ms after the kill (0: none after it). */
  enqueueResumeMs: number;
  /** Same for job runs (starts of the no-op task). */
  runResumeMs: number;
  /** The longest pause between acknowledged enqueues, ms. */
  longestPauseMs: number;
  /** Runs beyond one per job of this shard. */
  extraRuns: number;
}

export interface FailoverFigures {
  /** kill -9 → replica promoted and cluster_state ok everywhere (LocalCluster.kill). */
  failoverMs: number;
  shards: ShardFigures[];
  acknowledged: number;
  finished: number;
  /** Acknowledged, yet no result and nothing left of it: lost with the replication tail. */
  lost: number;
  /** ms before the kill each lost job's enqueue was acknowledged (the async replication window). */
  lostAckedBeforeKillMs: number[];
  /** Runs beyond one per job (at-least-once after a failover). */
  extraRuns: number;
  /** Entries left in the streams, pending entries, delayed jobs after the drain. */
  leftInStreams: number;
  leftPending: number;
  leftDelayed: number;
  /** The `finished` counters summed over shards, and the job ids in finished events (all, distinct). */
  finishedCounter: number;
  eventIds: number;
  distinctEventIds: number;
  /** Jobs recorded finished that were never acknowledged to a producer (a retried enqueue may land twice: must be 0). */
  unacknowledgedFinished: number;
  errorSamples: string[];
}

export interface FailoverRunOptions {
  /** Load before the kill (ms). */
  warmMs?: number;
  /** Load after the failover is over (ms). */
  afterMs?: number;
  /** Longest drain (ms). */
  drainMs?: number;
  /** The killed master's shards' producer: Queue's retryConnectS (default 30; 0 shows what an application then sees). */
  retryConnectS?: number;
}

/** Caller ids that land on shard s: the producer of a shard knows each job's shard. */
function idsFor(run: string, s: number): () => string {
  let k = 0;
  return () => {
    for (;;) {
      const id = `${run}-${s}-${k++}`;
      if (shardOf(id, SHARDS) === s) return id;
    }
  };
}

/** End of the longest gap in `times` (sorted ms), relative to `from`; and the gap. */
function longestGap(times: readonly number[], from: number): { endMs: number; gapMs: number } {
  let gapMs = 0;
  let endMs = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    if (gap > gapMs) {
      gapMs = gap;
      endMs = times[i]! - from;
    }
  }
  return { endMs: Math.max(0, Math.round(endMs)), gapMs: Math.round(gapMs) };
}

export async function failoverRun(options: FailoverRunOptions = {}): Promise<FailoverFigures> {
  const cluster = await startCluster({ fullCoverage: false, nodeTimeoutMs: 1_000 });
  const closers: (() => Promise<void> | void)[] = [];
  try {
    return await loadAndKill(cluster, options, closers);
  } finally {
    for (const close of closers.reverse()) await close();
    await cluster.stop();
  }
}

async function loadAndKill(
  cluster: Awaited<ReturnType<typeof startCluster>>,
  options: FailoverRunOptions,
  closers: (() => Promise<void> | void)[],
): Promise<FailoverFigures> {
  const prefix = `fo${Math.random().toString(36).slice(2, 8)}`;
  const keys = shardKeys(prefix, QUEUE, SHARDS);
  const ports = await Promise.all(keys.map(async (k) => (await cluster.masterOf(k.stream)).port));
  const victim = ports[0]!;
  const base = { redisUrl: cluster.seedUrl, prefix, queue: QUEUE, shards: SHARDS };
  // The killed master's shards ride the failover out through the library's retries; the others'
  // producer retries nothing, so any error there reaches the application and is counted.
  const riding = await Queue.connect({ ...base, retryConnectS: options.retryConnectS ?? 30 });
  closers.push(() => riding.close());
  const strict = await Queue.connect({ ...base, retryConnectS: 0 });
  closers.push(() => strict.close());

  const runs = new Map<string, number>();
  const extraRuns = keys.map(() => 0);
  const runTimes: number[][] = keys.map(() => []);
  const noop = defineTask({
    name: "noop",
    run: async (payload: { s: number }, _signal, job) => {
      if (runs.has(job.id)) extraRuns[payload.s]!++;
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      runTimes[payload.s]!.push(performance.now());
    },
  });
  const worker = await Worker.start({
    ...base,
    tasks: [noop],
    concurrency: 32,
    claimIdleMs: 5_000,
    eventsMaxLen: 1_000_000,
  });
  closers.push(() => worker.stop());

  const acked = new Map<string, number>();
  const ackTimes: number[][] = keys.map(() => []);
  const errors = keys.map(() => 0);
  const errorSamples: string[] = [];
  let producing = true;
  const producers = keys.map(async (_, s) => {
    const q = ports[s] === victim ? riding : strict;
    const next = idsFor(prefix, s);
    while (producing) {
      const id = next();
      try {
        await q.enqueue("noop", { s }, { id });
        const t = performance.now();
        acked.set(id, t);
        ackTimes[s]!.push(t);
      } catch (err) {
        errors[s]!++;
        const message = `shard ${s}: ${(err as Error).message}`;
        if (errorSamples.length < 5 && !errorSamples.includes(message)) errorSamples.push(message);
        await Bun.sleep(10);
      }
    }
  });

  await Bun.sleep(options.warmMs ?? 1_500);
  const killedAt = performance.now();
  const failoverMs = await cluster.kill(victim);
  await Bun.sleep(options.afterMs ?? 3_000);
  producing = false;
  await Promise.all(producers);

  const client = await connect(cluster.seedUrl);
  closers.push(() => destroy(client));
  const left = await drain(client, keys, options.drainMs ?? 20_000);
  const figures = await reconcile(client, keys, riding, acked, runs);
  const lostAckedBeforeKillMs = figures.lostIds.map((id) => Math.round(killedAt - acked.get(id)!));
  const shards = keys.map((_, s): ShardFigures => {
    const enq = longestGap(ackTimes[s]!, killedAt);
    return {
      shard: s,
      port: ports[s]!,
      killed: ports[s] === victim,
      acked: ackTimes[s]!.length,
      errors: errors[s]!,
      enqueueResumeMs: enq.endMs,
      runResumeMs: longestGap(
        runTimes[s]!.sort((a, b) => a - b),
        killedAt,
      ).endMs,
      longestPauseMs: enq.gapMs,
      extraRuns: extraRuns[s]!,
    };
  });
  const { lostIds: _, ...rest } = figures;
  return { failoverMs, shards, lostAckedBeforeKillMs, ...left, ...rest, errorSamples };
}

interface Left {
  leftInStreams: number;
  leftPending: number;
  leftDelayed: number;
}

/** Waits until every shard's stream, pending list and delayed set are empty (or `ms` pass). */
async function drain(client: Redis, keys: ReturnType<typeof shardKeys>, ms: number): Promise<Left> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left: Left = { leftInStreams: 0, leftPending: 0, leftDelayed: 0 };
    for (const k of keys) {
      left.leftInStreams += Number(await client.sendCommand(["XLEN", k.stream]));
      const pending = await client.sendCommand<[number]>(["XPENDING", k.stream, "workers"]);
      left.leftPending += Number(pending[0]);
      left.leftDelayed += Number(await client.sendCommand(["ZCARD", k.delayed]));
    }
    const total = left.leftInStreams + left.leftPending + left.leftDelayed;
    if (total === 0 || Date.now() > deadline) return left;
    await Bun.sleep(100);
  }
}

/** Every acknowledged job's record, the counters and the finished events, against the runs. */
async function reconcile(
  client: Redis,
  keys: ReturnType<typeof shardKeys>,
  queue: Queue,
  acked: Map<string, number>,
  runs: Map<string, number>,
) {
  const ids = [...acked.keys()];
  const lostIds: string[] = [];
  let finished = 0;
  for (let i = 0; i < ids.length; i += 1_000) {
    const chunk = ids.slice(i, i + 1_000);
    const records = await queue.getJobs(chunk);
    records.forEach((r, j) => {
      if (r?.status === "finished") finished++;
      else lostIds.push(chunk[j]!);
    });
  }
  let finishedCounter = 0;
  const eventIds: string[] = [];
  for (const k of keys) {
    finishedCounter += Number((await client.sendCommand(["HGET", k.stats, "finished"])) ?? 0);
    const events = await client.sendCommand<[string, string[]][]>(["XRANGE", k.events, "-", "+"]);
    for (const [, fields] of events) {
      const at = fields.indexOf("type");
      if (fields[at + 1] !== "finished") continue;
      eventIds.push(...fields[fields.indexOf("ids") + 1]!.split(","));
    }
  }
  let extraRuns = 0;
  for (const n of runs.values()) extraRuns += n - 1;
  const unacknowledgedFinished = eventIds.filter((id) => !acked.has(id)).length;
  return {
    acknowledged: ids.length,
    finished,
    lost: lostIds.length,
    lostIds,
    extraRuns,
    finishedCounter,
    eventIds: eventIds.length,
    distinctEventIds: new Set(eventIds).size,
    unacknowledgedFinished,
  };
}
