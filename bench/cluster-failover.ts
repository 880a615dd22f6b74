#!/usr/bin/env bun
// Issue 12's failover check, 3 runs (research §5 tests 7 and 8): each run starts a fresh 3+3
// cluster (full coverage off, node timeout 1000 ms), loads a 6-shard queue (a producer loop
// per shard through Queue, a Worker running no-op jobs), `kill -9`s the master of shard 0,
// keeps going 3 s, drains and reconciles (bench/_failover.ts). Prints a table, and one JSON
// line per run (`--json`). One failover per cluster: back-to-back ones can wedge Redis 7.0.
//
//   bun bench/cluster-failover.ts [--runs 3] [--json] [--retry-connect S]
// --retry-connect: the killed master's shards' producer (Queue retryConnectS, default 30 s: it
// rides the failover out); 0 shows the errors an application gets without retries.
import { parseArgs } from "node:util";
import { type FailoverFigures, failoverRun } from "./_failover.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    "retry-connect": { type: "string", default: "30" },
  },
});
const retryConnectS = Number(values["retry-connect"]);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
  console.error(`--runs must be a whole number from 1 to 20, not "${values.runs}"`);
  process.exit(2);
}
if (!Number.isInteger(retryConnectS) || retryConnectS < 0 || retryConnectS > 600) {
  console.error(
    `--retry-connect must be whole seconds from 0 to 600, not "${values["retry-connect"]}"`,
  );
  process.exit(2);
}

/** Per shard of the killed master `a/b` (enqueues/runs resumed, ms after the kill). */
function resumed(f: FailoverFigures): string {
  return f.shards
    .filter((s) => s.killed)
    .map((s) => `${s.shard}: ${s.enqueueResumeMs}/${s.runResumeMs}`)
    .join(", ");
}

function errors(f: FailoverFigures): string {
  return f.shards.map((s) => `${s.errors}`).join(" ");
}

function worstPause(f: FailoverFigures): number {
  return Math.max(0, ...f.shards.filter((s) => !s.killed).map((s) => s.longestPauseMs));
}

const header = [
  "run",
  "failover ms",
  "killed shards resumed ms (enqueue/run)",
  "errors per shard 0-5",
  "others' longest pause ms",
  "acked",
  "lost",
  "extra runs",
  "left",
  "results once",
];
const rows: string[][] = [];
for (let run = 1; run <= runs; run++) {
  const f = await failoverRun({ retryConnectS });
  if (values.json) console.log(JSON.stringify({ run, ...f }));
  const once =
    f.eventIds === f.distinctEventIds &&
    f.distinctEventIds === f.finished &&
    f.finishedCounter === f.finished;
  rows.push([
    String(run),
    String(f.failoverMs),
    resumed(f),
    errors(f),
    String(worstPause(f)),
    String(f.acknowledged),
    f.lost === 0
      ? "0"
      : `${f.lost} (acked ${f.lostAckedBeforeKillMs.join(",")} ms before the kill)`,
    String(f.extraRuns),
    String(f.leftInStreams + f.leftPending + f.leftDelayed),
    once ? "yes" : "NO",
  ]);
  for (const e of f.errorSamples) console.error(`run ${run}: ${e}`);
}
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => "---").join("|")}|`);
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
process.exit(0);
