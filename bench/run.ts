#!/usr/bin/env bun
// `bun run bench`: each workload on its own redis-server (persistence off, then once more with
// AOF everysec for the throughput and latency workloads), each contender in turn, for several
// rounds. Prints one JSON line per figure, then a table and the targets; the JSON lines of
// the last run are also written to bench/results/latest.jsonl. docs/performance.md explains.
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { CONTENDERS, type Contender, type Figure, formatTable, Recorder } from "./_figures.ts";
import { jitNiceFor, lowerJitThreads } from "./_jit-nice.ts";
import { BENCH_DIR, nowMs, ROOT } from "./_proc.ts";
import { withRedis } from "./_redis.ts";
import { codeFingerprint, git, runOnSnapshot } from "./_snapshot.ts";
import { checkTargets, formatTargets } from "./_targets.ts";
import { bullmq } from "./contenders/bullmq.ts";
import { courier } from "./contenders/courier.ts";
import { raw } from "./contenders/raw.ts";
import { rq } from "./contenders/rq.ts";
import type { ContenderImpl } from "./contenders/types.ts";
import { profile } from "./profile.ts";
import { SIZES } from "./sizes.ts";
import type { Workload } from "./workloads/_common.ts";
import { cluster } from "./workloads/cluster.ts";
import { cost } from "./workloads/cost.ts";
import { enqueue } from "./workloads/enqueue.ts";
import { io } from "./workloads/io.ts";
import { latency } from "./workloads/latency.ts";
import { limits, limitsBase } from "./workloads/limits.ts";
import { noop } from "./workloads/noop.ts";
import { priority } from "./workloads/priority.ts";

/** Workloads in run order; `aof` ones run a second time with AOF on. */
const WORKLOADS: Record<string, { run: Workload; aof: boolean; byDefault: boolean }> = {
  enqueue: { run: enqueue, aof: true, byDefault: true },
  noop: { run: noop, aof: true, byDefault: true },
  latency: { run: latency, aof: true, byDefault: true },
  io: { run: io, aof: false, byDefault: true },
  cost: { run: cost, aof: true, byDefault: true },
  profile: { run: profile, aof: false, byDefault: false },
  // Issue 12: a local 3+3 Redis Cluster against the same code on this one server.
  cluster: { run: cluster, aof: false, byDefault: false },
  // Issue 13: a high job's wait to start while the worker is saturated with low ones.
  priority: { run: priority, aof: false, byDefault: false },
  // Issue 14: an unlimited queue's no-op figure against the code before limits; a limited
  // queue's start rate against its limit.
  limits: { run: limits, aof: false, byDefault: false },
};
const IMPLS: Record<Contender, ContenderImpl> = { courier, bullmq, raw, rq };

const USAGE = `usage: bun bench/run.ts [options]
  --only LIST         workloads, comma-separated: ${Object.keys(WORKLOADS).join(",")}
                      (default: all but profile, cluster, priority and limits)
  --size SIZE         tiny | small | full (default small, ~7 min here; full: the issue's sizes, ~30 min)
  --rounds N          rounds per figure (default 3): each JSON line has the median, min and max
                      over them, the table shows medians, the targets the best round
  --aof / --no-aof    only the AOF pass / no AOF pass (default: both, for enqueue, noop, latency)
  --contenders LIST   ${CONTENDERS.join(",")} (default all)
  --io-concurrency N  Courier and BullMQ concurrency in the I/O-bound workload (default 128)
  --latency-warmup N  jobs each latency round runs before it measures (default 20)
  --out PATH          where the JSON lines go (default bench/results/latest.jsonl)
  --commit REF        measure lib/ and bin/ of REF (a git archive snapshot) with this bench/,
                      instead of the working tree`;

function options() {
  const values = parse();
  if (values.help) exit(USAGE, 0);
  const list = (s: string) => s.split(",").filter(Boolean);
  const only = values.only
    ? list(values.only)
    : Object.keys(WORKLOADS).filter((w) => WORKLOADS[w]!.byDefault);
  const unknown = only.filter((w) => !WORKLOADS[w]);
  if (unknown.length) exit(`unknown workload ${unknown.join(",")}\n${USAGE}`, 2);
  const size = SIZES[values.size as keyof typeof SIZES];
  if (!size) exit(`--size must be tiny, small or full\n${USAGE}`, 2);
  const names = list(values.contenders);
  const bad = names.filter((n) => !(n in IMPLS));
  if (bad.length) exit(`unknown contender ${bad.join(",")}\n${USAGE}`, 2);
  const passes: ("off" | "aof")[] = values.aof
    ? ["aof"]
    : values["no-aof"]
      ? ["off"]
      : ["off", "aof"];
  return {
    only,
    size,
    sizeName: values.size,
    rounds: wholeNumber(values.rounds, "rounds"),
    ioConcurrency: wholeNumber(values["io-concurrency"], "io-concurrency"),
    latencyWarmup: wholeNumber(values["latency-warmup"], "latency-warmup", 0),
    passes,
    contenders: names.map((n) => IMPLS[n as Contender]),
    out: resolve(values.out),
    commit: values.commit,
  };
}

function parse() {
  try {
    return parseArgs({
      options: {
        only: { type: "string" },
        size: { type: "string", default: "small" },
        rounds: { type: "string", default: "3" },
        aof: { type: "boolean" },
        "no-aof": { type: "boolean" },
        contenders: { type: "string", default: CONTENDERS.join(",") },
        "io-concurrency": { type: "string", default: "128" },
        "latency-warmup": { type: "string", default: "20" },
        out: { type: "string", default: join(BENCH_DIR, "results", "latest.jsonl") },
        commit: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (err) {
    exit(`${(err as Error).message}\n${USAGE}`, 2);
  }
}

function wholeNumber(value: string, flag: string, least = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < least)
    exit(`--${flag} takes a whole number >= ${least}\n${USAGE}`, 2);
  return n;
}

function exit(message: string, code: number): never {
  (code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
  process.exit(code);
}

const o = options();
// BENCH_JIT_NICE=all: this process hosts the producers and waiters (bench/_jit-nice.ts).
if (jitNiceFor("all")) lowerJitThreads();
if (o.commit) process.exit(await runOnSnapshot(ROOT, o.commit, forwarded()));
// The limits workload's base, refused before anything runs if it has the limits already.
const base = o.only.includes("limits") ? limitsBase(ROOT) : undefined;
if (base && "error" in base) exit(base.error, 2);
mkdirSync(dirname(o.out), { recursive: true });
const t0 = nowMs();
const log = (m: string) =>
  process.stderr.write(`[bench ${((nowMs() - t0) / 1000).toFixed(0)}s] ${m}\n`);
const figures: Figure[] = [];
const fingerprint = codeFingerprint(ROOT);
const meta = {
  meta: "run",
  size: o.sizeName,
  rounds: o.rounds,
  latencyWarmup: o.latencyWarmup,
  // BENCH_JIT_NICE (bench/_jit-nice.ts): a diagnostic run, not the contenders as they run.
  ...(process.env.BENCH_JIT_NICE ? { jitNice: process.env.BENCH_JIT_NICE } : {}),
  bun: Bun.version,
  cores: navigator.hardwareConcurrency,
  commit: process.env.COURIER_BENCH_COMMIT ?? git(ROOT, ["rev-parse", "--short", "HEAD"]),
  // The bench's own code (--commit runs the working tree's bench/ on REF's lib/ and bin/).
  benchCode: process.env.COURIER_BENCH_CODE ?? "same",
  // Uncommitted changes in lib/ or bin/ measured (always false for --commit).
  uncommitted:
    !process.env.COURIER_BENCH_COMMIT && git(ROOT, ["status", "--porcelain", "lib", "bin"]) !== "",
  loadavg: loadavg().map((x) => Number(x.toFixed(2))),
  // The code before limits the limits workload measured against (bench/workloads/limits.ts).
  ...(base && "commit" in base ? { limitsBase: base.commit } : {}),
};
log(`size ${o.sizeName}, ${o.rounds} round(s), workloads ${o.only.join(",")}`);
const loadByWorkload: { workload: string; persistence: string; loadavg: number[] }[] = [];
// A contender this machine cannot run (RQ without Debian's python3-rq) is left out, saying why.
const skipped: Record<string, string> = {};
const contenders = o.contenders.filter((c) => {
  const missing = c.missing?.();
  if (missing) {
    skipped[c.name] = missing;
    log(`${c.name} skipped: ${missing}`);
  }
  return !missing;
});
for (const name of o.only) {
  const w = WORKLOADS[name]!;
  for (const persistence of o.passes) {
    if (persistence === "aof" && !w.aof) continue;
    const rec = new Recorder(name, persistence);
    const load = loadavg().map((x) => Number(x.toFixed(2)));
    loadByWorkload.push({ workload: name, persistence, loadavg: load });
    log(`${name}: redis-server with persistence ${persistence} (load average ${load.join(" ")})`);
    await withRedis(persistence === "aof", (redis) =>
      w.run({
        redis,
        size: o.size,
        rounds: o.rounds,
        rec,
        contenders,
        ioConcurrency: o.ioConcurrency,
        latencyWarmup: o.latencyWarmup,
        persistence,
        outDir: dirname(o.out),
        log,
      }),
    );
    for (const f of rec.figures()) {
      process.stdout.write(`${JSON.stringify(f)}\n`);
      figures.push(f);
    }
  }
}
const changed = codeFingerprint(ROOT) !== fingerprint;
if (changed)
  log("WARNING: lib/ or bin/ changed during the run: figures mix versions (see --commit)");
const targets = checkTargets(figures);
const loadEnd = loadavg().map((x) => Number(x.toFixed(2)));
writeFileSync(
  o.out,
  [
    { ...meta, skipped, loadavgEnd: loadEnd, loadByWorkload, codeChangedDuringRun: changed },
    ...figures,
    ...targets,
  ]
    .map((x) => `${JSON.stringify(x)}\n`)
    .join(""),
);
const minutes = ((nowMs() - t0) / 60_000).toFixed(1);
process.stdout.write(`\n${formatTable(figures)}\n`);
const load = `load average ${meta.loadavg.join(" ")} at the start, ${loadEnd.join(" ")} at the end`;
if (targets.length) {
  const head = `Targets (issue 11; issue 12's cluster ratio), best of ${o.rounds} round(s), commit ${meta.commit}, ${load}:`;
  process.stdout.write(`\n${head}\n\n${formatTargets(targets)}\n`);
}
process.stdout.write(
  `\nsize ${o.sizeName}, ${o.rounds} round(s), ${minutes} min, ${meta.cores} cores, ${load}; JSON lines in ${o.out}\n`,
);

/** The options, as arguments for the run inside a snapshot (--out absolute: it is deleted). */
function forwarded(): string[] {
  const args = ["--only", o.only.join(","), "--size", o.sizeName, "--rounds", String(o.rounds)];
  args.push("--contenders", o.contenders.map((c) => c.name).join(","));
  args.push("--io-concurrency", String(o.ioConcurrency), "--out", o.out);
  args.push("--latency-warmup", String(o.latencyWarmup));
  if (o.passes.length === 1) args.push(o.passes[0] === "aof" ? "--aof" : "--no-aof");
  return args;
}
