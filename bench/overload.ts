#!/usr/bin/env bun
// `bun bench/overload.ts`: the million-job checks. A producer enqueues 1,000,000 no-op jobs
// faster than one worker process drains them; the worker's memory must stay flat (it reads
// only as many entries as it has free slots), the producer must get no error, and nothing is
// lost. Finished results are kept for only a few seconds here, so that afterwards Redis'
// memory can be compared with where it started: it must be back within a few MB, with the
// stream empty. Prints one JSON line per figure. Takes a few minutes.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Queue } from "../lib/queue/queue.ts";
import { findFreePort, startRedisServer } from "../lib/stack/redis-server.ts";
import { urlEnv } from "./_proc.ts";

const { values: a } = parseArgs({
  options: {
    jobs: { type: "string", default: "1000000" },
    "result-ttl-s": { type: "string", default: "10" },
    concurrency: { type: "string", default: "128" },
  },
});
const jobs = Number(a.jobs);
const dataDir = mkdtempSync(join(tmpdir(), "courier-overload-"));
const redis = await startRedisServer({ port: await findFreePort(), dataDir, persistence: false });
const prefix = "overload";
const queue = await Queue.connect({ redisUrl: redis.url, prefix });
const print = (name: string, value: number, unit: string) =>
  process.stdout.write(`${JSON.stringify({ name, value, unit })}\n`);
const memory = async () =>
  Number(/used_memory:(\d+)/.exec(String(await queue.client.sendCommand(["INFO", "memory"])))?.[1]);
const finished = async () =>
  Number(
    (await queue.client.sendCommand<string | null>(["HGET", queue.keys.stats, "finished"])) ?? 0,
  );

const before = await memory();
const worker = Bun.spawn({
  cmd: [
    process.execPath,
    resolve(import.meta.dir, "chaos/noop-worker.ts"),
    prefix,
    a["result-ttl-s"]!,
    a.concurrency!,
  ],
  env: { ...process.env, ...urlEnv(redis.url) },
  stdout: "pipe",
});
const rss = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${worker.pid}/status`, "utf8"))?.[1]) * 1024;
await new Response(worker.stdout).body?.getReader().read(); // "ready"

const started = performance.now();
let producerErrors = 0;
const producing = (async () => {
  for (let i = 0; i < jobs; i += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, jobs - i) }, () => ({ task: "noop" }));
    await queue.enqueueMany(batch).catch(() => producerErrors++);
  }
  print(
    "enqueue rate while draining",
    Math.round(jobs / ((performance.now() - started) / 1_000)),
    "jobs/s",
  );
})();

let rssAt100k = 0;
let peakRss = 0;
// The worker's RSS at each tenth of the jobs: flat memory is a plateau, not a first and a last
// sample that happen to agree (the heap grows to its working size over the first few tenths).
const tenths: number[] = [];
for (let done = 0; done < jobs; done = await finished()) {
  const now = rss();
  peakRss = Math.max(peakRss, now);
  if (!rssAt100k && done >= Math.min(100_000, jobs / 10)) rssAt100k = now;
  while (tenths.length < 10 && done >= ((tenths.length + 1) * jobs) / 10) tenths.push(now);
  await Bun.sleep(500);
}
await producing;
const rssAtEnd = rss();
if (tenths.length < 10) tenths.push(rssAtEnd);
print("processing rate", Math.round(jobs / ((performance.now() - started) / 1_000)), "jobs/s");
print("producer errors", producerErrors, "errors");
print("worker RSS after 100k jobs", Math.round(rssAt100k / 2 ** 20), "MiB");
print("worker RSS after all jobs", Math.round(rssAtEnd / 2 ** 20), "MiB");
print("worker RSS peak", Math.round(peakRss / 2 ** 20), "MiB");
for (const [i, bytes] of tenths.entries()) {
  print(
    `worker RSS at ${((i + 1) * 10).toString()}% of the jobs`,
    Math.round(bytes / 2 ** 20),
    "MiB",
  );
}
// The plateau: the second half's highest sample against the first half's highest.
const firstHalf = Math.max(...tenths.slice(0, 5));
const secondHalf = Math.max(...tenths.slice(5));
if (tenths.length === 10) {
  print(
    "worker RSS, second half's highest vs first half's",
    Math.round(((secondHalf - firstHalf) / firstHalf) * 1_000) / 10,
    "%",
  );
}
print(
  "worker RSS growth 100k to end",
  Math.round(((rssAtEnd - rssAt100k) / rssAt100k) * 1_000) / 10,
  "%",
);
print(
  "stream length when idle",
  Number(await queue.client.sendCommand(["XLEN", queue.keys.stream])),
  "entries",
);

// Results expire after result-ttl-s; Redis' active expiry then frees them over a few seconds.
const ttlMs = Number(a["result-ttl-s"]) * 1_000;
await Bun.sleep(ttlMs);
for (let i = 0; i < 120 && Number(await queue.client.sendCommand(["DBSIZE"])) > 100; i++)
  await Bun.sleep(1_000);
const after = await memory();
print("redis used_memory before", Math.round(before / 2 ** 10), "KiB");
print("redis used_memory after, results expired", Math.round(after / 2 ** 10), "KiB");
print("redis used_memory growth", Math.round(((after - before) / 2 ** 20) * 10) / 10, "MiB");
worker.kill("SIGTERM");
await worker.exited;
await queue.close();
await redis.stop();
rmSync(dataDir, { recursive: true, force: true });
