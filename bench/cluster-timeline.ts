#!/usr/bin/env bun
// Issue 12's failover timeline: `bun bench/cluster-timeline.ts [--runs N]`. On a fresh local
// 3+3 cluster (cluster-require-full-coverage no, node timeout 1000 ms) a queue of 6 shards is
// fed by awaited single enqueues through the library (8 at once per shard, caller ids chosen so
// each loop feeds one shard) while one worker process (bench/cluster-worker.ts, concurrency 128)
// runs them; 2 s in, the master of shard 0 gets `kill -9`. It counts acknowledged enqueues and
// errors per shard per 100 ms, and the warnings the worker logs,
// prints the table (docs/performance.md) and a JSON summary, then checks the drain: every
// acknowledged job ends. One failover per fresh cluster; `--runs` repeats the whole.
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { Queue } from "../lib/index.ts";
import { startLab, stopLab } from "./_cluster.ts";
import { nowMs, ROOT, spawnProc, urlEnv } from "./_proc.ts";
import { BUCKET_MS, formatTimeline, summariseShards, Timeline } from "./_timeline.ts";

const SHARDS = 6;
const IN_FLIGHT_PER_SHARD = 8;
const KILL_AFTER_MS = 2_000;
const RUN_AFTER_KILL_MS = 6_000;
/** After an error a loop waits this long: errors come at once while a node is down. */
const ERROR_PAUSE_MS = 10;

const USAGE = "usage: bun bench/cluster-timeline.ts [--runs N] (N a whole number >= 1)";
const runs = runsOption(process.argv.slice(2));
let failed = false;
for (let r = 1; r <= runs; r++) failed = !(await run(r)) || failed;
process.exit(failed ? 1 : 0);

async function run(index: number): Promise<boolean> {
  const load = loadavg().map((x) => x.toFixed(2));
  const lab = await startLab(SHARDS);
  const prefix = "timeline";
  const queue = `fo-${process.pid}-${index}`;
  const keys = shardKeys(prefix, queue, SHARDS);
  const masterOf = await Promise.all(
    keys.map(async (k) => (await lab.cluster!.masterOf(k.stream)).port),
  );
  const victim = masterOf[0]!;
  const killed = masterOf.flatMap((p, s) => (p === victim ? [s] : []));
  let killAt: number | undefined;
  const timeline = new Timeline(SHARDS, () => killAt);
  const q = await Queue.connect({ redisUrl: lab.url, prefix, queue, shards: SHARDS });
  const worker = spawnProc(
    [process.execPath, `${ROOT}/bench/cluster-worker.ts`, prefix, queue, String(SHARDS)],
    urlEnv(lab.url),
  );
  worker.onLine((line) => {
    if (!line.startsWith("{")) return;
    timeline.addWorker(nowMs());
  });
  const errors = new Map<string, number>();
  const acked: string[] = [];
  let stop = false;
  const loop = async (shard: number, k: number) => {
    for (let n = 0; !stop; n++) {
      const id = idOn(shard, `${k}-${n}`);
      try {
        await q.enqueue("noop", {}, { id });
        acked.push(id);
        timeline.add(shard, nowMs(), "ok");
      } catch (err) {
        timeline.add(shard, nowMs(), "errors");
        // By kind: the URL and numbers left out, so alike errors count together.
        const message = String((err as Error).message).replace(lab.url, "<url>");
        const kind = message.replace(/\d+/g, "N").slice(0, 160);
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
        await Bun.sleep(ERROR_PAUSE_MS);
      }
    }
  };
  try {
    await worker.waitFor(/^ready$/);
    // Counted from the start, relative to the kill's planned time (the sleep ends there).
    killAt = nowMs() + KILL_AFTER_MS;
    const loops = keys.flatMap((_, s) =>
      Array.from({ length: IN_FLIGHT_PER_SHARD }, (_, k) => loop(s, k)),
    );
    await Bun.sleep(killAt - nowMs());
    const lateMs = Math.round(nowMs() - killAt);
    const failoverMs = await lab.cluster!.kill(victim);
    await Bun.sleep(Math.max(0, killAt + RUN_AFTER_KILL_MS - nowMs()));
    stop = true;
    await Promise.all(loops);
    const last = Math.floor(RUN_AFTER_KILL_MS / BUCKET_MS) - 1;
    const shards = summariseShards(timeline, killed, last);
    const resume = Math.max(...shards.map((s) => s.resumeMs ?? 0));
    const worst = Math.max(...shards.filter((s) => !s.onKilledMaster).map((s) => s.longestGapMs));
    const drained = await drainedAll(q, keys, acked);
    const summary = {
      run: index,
      loadavg: load.join(" "),
      killedPort: victim,
      killedShards: killed,
      killLateMs: lateMs,
      failoverMs,
      acknowledged: acked.length,
      drained,
      resumeMs: resume,
      othersLongestGapMs: worst,
      shards,
      errors: Object.fromEntries(errors),
    };
    const end = Math.min(last, Math.ceil((resume + 500) / BUCKET_MS));
    process.stdout.write(
      `\n${formatTimeline(timeline, killed, -5, end)}\n\n${JSON.stringify(summary)}\n`,
    );
    const others = shards.filter((s) => !s.onKilledMaster);
    return drained.notFinished === 0 && others.every((s) => s.errors === 0) && resume <= 4_000;
  } finally {
    stop = true;
    await worker.stop(10_000);
    await q.close();
    await stopLab(lab);
  }
}

/** A caller id that lives on `shard` (shardOf: FNV-1a of the id), so each loop feeds one shard. */
function idOn(shard: number, base: string): string {
  for (let i = 0; ; i++) {
    const id = `j${base}-${i}`;
    if (shardOf(id, SHARDS) === shard) return id;
  }
}

/**
 * Waits (up to 60 s) until the worker has recorded as many results as were acknowledged, then
 * reads every acknowledged job: `notFinished` counts those without a finished record (lost).
 */
async function drainedAll(q: Queue, keys: ReturnType<typeof shardKeys>, acked: string[]) {
  const began = nowMs();
  const want = acked.length;
  let ended = 0;
  while (nowMs() - began < 60_000) {
    try {
      const counts = await Promise.all(
        keys.map((k) => q.client.sendCommand<string | null>(["HGET", k.stats, "finished"])),
      );
      ended = counts.reduce((s, c) => s + Number(c ?? 0), 0);
      if (ended >= want) break;
    } catch {
      // a node still settling after the failover: ask again
    }
    await Bun.sleep(100);
  }
  const ms = Math.round(nowMs() - began);
  const records = await q.getJobs(acked);
  const notFinished = records.filter((r) => r?.status !== "finished").length;
  return { ended, ms, notFinished };
}

/** --runs from argv; a mistake prints one line and the usage, and exits 2. */
function runsOption(args: string[]): number {
  let text: string | undefined;
  try {
    const options = { runs: { type: "string", default: "1" } } as const;
    text = parseArgs({ args, options }).values.runs;
  } catch (err) {
    process.stderr.write(`cluster-timeline: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`cluster-timeline: --runs takes a whole number >= 1\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}
