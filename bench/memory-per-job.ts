#!/usr/bin/env bun
// Redis memory per job, by state, for sizing maxmemory (docs/performance.md, "Memory per job";
// README, "Operations"). On a fresh redis-server: N word-count jobs enqueued (queued), then
// finished by a worker (result kept for resultTtlS), then N more that fail for good (a dead
// letter plus the failed value kept for failureTtlS), then N more that fail on a full Redis
// (a compact letter; past the first 1,000, each drops the oldest).
// Prints one JSON line per state: used memory (less client buffers) before and after, divided
// by N; one job's outcome key r:<id> (MEMORY USAGE; Engine v2 keeps no record for a job that
// runs once); and the shared streams' bytes per job (the events stream stops growing at
// eventsMaxLen jobs, the dead letters at deadMaxLen).
// Usage: bun bench/memory-per-job.ts [N] [hash-max-listpack-value] (default 10000, Redis' 64):
// a job record holding a value longer than that (a result, a long error) is stored as a hash
// table, which takes about twice the memory of the compact encoding.
import { defineTask, PermanentError, Queue, Worker } from "../lib/index.ts";
import { type BenchRedis, usedMemory, withRedis } from "./_redis.ts";

const N = Number(process.argv[2] ?? 10_000);
const LISTPACK_VALUE = process.argv[3];

// A word-count job as the README's example makes it, and a result of the usual size.
const payload = (i: number) => ({ url: `https://www.example.org/articles/${100_000 + i}` });
const RESULT = {
  words: 1_234,
  title: "An example article about something",
  lang: "en",
  url: "https://www.example.org/articles/100000",
  finalUrl: "https://www.example.org/articles/100000",
  status: 200,
  contentType: "text/html; charset=utf-8",
  bytes: 48_213,
  topWords: ["the", "of", "and", "to", "a", "in", "is", "for", "that", "on"].map((word, i) => ({
    word,
    count: 80 - i * 5,
  })),
  timings: { fetchMs: 42, parseMs: 3 },
};
const ERROR = "HTTP 404 Not Found from https://www.example.org/articles/100000";

const wordcount = defineTask({ name: "wordcount", run: async () => RESULT });
const failing = defineTask({
  name: "wordcount",
  run: async () => {
    throw new PermanentError(ERROR);
  },
});

function line(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

/** Bytes a key takes (MEMORY USAGE, every element counted). */
async function bytes(r: BenchRedis, key: string): Promise<number> {
  return Number(await r.admin.sendCommand(["MEMORY", "USAGE", key, "SAMPLES", "0"]));
}

/** Bytes a key shared by the queue's jobs (stream, events, dead letters) takes per job. */
async function perJob(r: BenchRedis, key: string): Promise<number> {
  return Math.round((await bytes(r, key)) / N);
}

/** Enqueues N jobs on `queue` and runs them with `task` until `done` of them are counted. */
async function run(
  r: BenchRedis,
  queue: string,
  task: typeof wordcount,
  counter: string,
  full = false,
) {
  const q = await Queue.connect({ redisUrl: r.url, queue });
  const before = await usedMemory(r.admin);
  await q.enqueueMany(
    [...Array(N).keys()].map((i) => ({ task: "wordcount", payload: payload(i) })),
  );
  const queued = await usedMemory(r.admin);
  const keys = q.keys;
  // An auto id is the job's first entry id; its outcome is r:<id> (docs/internals.md, "The outcome value").
  const first = await r.admin.sendCommand<[string][]>([
    "XRANGE",
    keys.stream,
    "-",
    "+",
    "COUNT",
    "1",
  ]);
  const sample = keys.result(first[0]![0]);
  const queuedParts = { stream: await perJob(r, keys.stream) };
  // Full: maxmemory under what was used before the jobs came, so Redis stays full all along.
  if (full) await r.admin.sendCommand(["CONFIG", "SET", "maxmemory", String(before - 65_536)]);
  // The default headroom: a failure on a full Redis takes no memory, so the worker never waits.
  const w = await Worker.start({ redisUrl: r.url, queue, tasks: [task], concurrency: 64 });
  while (Number(await r.admin.sendCommand(["HGET", keys.stats, counter])) < N) await Bun.sleep(50);
  await w.stop();
  if (full) await r.admin.sendCommand(["CONFIG", "SET", "maxmemory", "0"]);
  await q.close();
  const after = await usedMemory(r.admin);
  return { before, queued, after, queuedParts, keys, sample };
}

await withRedis(false, async (r) => {
  if (LISTPACK_VALUE) {
    await r.admin.sendCommand(["CONFIG", "SET", "hash-max-listpack-value", LISTPACK_VALUE]);
  }
  // Load the scripts and make the counters' hashes first: their memory is paid once, not per job.
  await run(r, "warmup", wordcount, "finished");
  const ok = await run(r, "ok", wordcount, "finished");
  line({
    state: "queued",
    hashMaxListpackValue: LISTPACK_VALUE ?? "64 (default)",
    jobs: N,
    bytesPerJob: Math.round((ok.queued - ok.before) / N),
    streamEntry: ok.queuedParts.stream,
  });
  line({
    state: "finished, result kept",
    jobs: N,
    bytesPerJob: Math.round((ok.after - ok.before) / N),
    result: await bytes(r, ok.sample),
    events: await perJob(r, ok.keys.events),
  });
  const bad = await run(r, "bad", failing, "dead");
  line({
    state: "failed, dead letter and record kept",
    jobs: N,
    bytesPerJob: Math.round((bad.after - bad.before) / N),
    failedValue: await bytes(r, bad.sample),
    deadLetter: await perJob(r, bad.keys.dead),
    events: await perJob(r, bad.keys.events),
  });
  // On a full Redis (noeviction), a failure keeps only a compact dead letter, and once 1,000
  // letters are kept each one drops the oldest (lib/engine/lua/include/dead.lua): past them a
  // failure takes only its share of the events, less than the queued job it replaces.
  await r.admin.sendCommand(["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
  const onFull = await run(r, "full", failing, "dead", true);
  const kept = Number(await r.admin.sendCommand(["XLEN", onFull.keys.dead]));
  line({
    state: "failed while Redis is full, dead letter only",
    jobs: N,
    bytesPerJob: Math.round((onFull.after - onFull.before) / N),
    bytesPerJobVsQueued: Math.round((onFull.after - onFull.queued) / N),
    lettersKept: kept,
    lettersDropped: Number(await r.admin.sendCommand(["HGET", onFull.keys.stats, "dead_trimmed"])),
    deadLetterEach: Math.round((await bytes(r, onFull.keys.dead)) / kept),
    events: await perJob(r, onFull.keys.events),
  });
});
