#!/usr/bin/env bun
// A full Redis, as an operator meets it (README, "Redis memory"): a redis-server of its own
// with `maxmemory` (default 8 MB) and noeviction, filled by a producer with word-count-sized
// jobs until it refuses, then one worker. Prints one JSON line: how many jobs were queued,
// dead-lettered and finished, how many still wait when it stops (drained, or nothing moved
// for 8 s), and how far past maxmemory Redis went (used_memory_peak: the producer's fill
// counts too, it stops at maxmemory).
// Usage: bun bench/redis-full.ts [fail|ok|mix] [concurrency] [maxmemory MB]
// (fail: every job fails for good with a 130-character error; ok: every job finishes with a
// 480-byte result; mix: every other one fails.)
import { PermanentError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";
import { info, withRedis } from "./_redis.ts";

const MODE = process.argv[2] ?? "fail";
const CONCURRENCY = Number(process.argv[3] ?? 1);
const MAX_BYTES = Number(process.argv[4] ?? 8) * 1024 * 1024;
const STALLED_MS = 8_000;

const RESULT = { text: "y".repeat(470) };
const ERROR =
  "http://127.0.0.1:9/p1 resolves to a private address (127.0.0.1), which this worker refuses: run it with --allow-private to fetch it";

let runs = 0;
const task = defineTask({
  name: "wordcount",
  run: async () => {
    runs++;
    if (MODE === "fail" || (MODE === "mix" && runs % 2 === 0)) throw new PermanentError(ERROR);
    return RESULT;
  },
});

await withRedis(false, async (r) => {
  await r.admin.sendCommand(["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
  await r.admin.sendCommand(["CONFIG", "SET", "maxmemory", String(MAX_BYTES)]);
  const q = await Queue.connect({ redisUrl: r.url });
  let n = 0;
  const batch = () =>
    [...Array(500).keys()].map(() => ({
      task: "wordcount",
      payload: { url: `https://www.example.org/articles/${100_000 + n++}` },
    }));
  try {
    for (;;) await q.enqueueMany(batch());
  } catch {
    // Full: the producer was refused.
  }
  const xlen = async () => Number(await r.admin.sendCommand(["XLEN", q.keys.stream]));
  const queued = await xlen();
  const started = performance.now();
  const w = await Worker.start({ redisUrl: r.url, tasks: [task], concurrency: CONCURRENCY });
  let waiting = queued;
  let movedAt = performance.now();
  while (waiting > 0 && performance.now() - movedAt < STALLED_MS) {
    await Bun.sleep(250);
    const now = await xlen();
    if (now !== waiting) movedAt = performance.now();
    waiting = now;
  }
  const seconds = (performance.now() - started) / 1000;
  await w.stop();
  const memory = await info(r.admin, "memory");
  const stat = async (k: string) => Number(await r.admin.sendCommand(["HGET", q.keys.stats, k]));
  const peak = memory.get("used_memory_peak") ?? 0;
  const line = {
    mode: MODE,
    concurrency: CONCURRENCY,
    maxmemory: MAX_BYTES,
    queued,
    waiting,
    dead: await stat("dead"),
    finished: await stat("finished"),
    peakBytes: peak,
    peakOverMaxPct: Number(((peak / MAX_BYTES - 1) * 100).toFixed(1)),
    usedAfter: memory.get("used_memory"),
    seconds: Number(seconds.toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  await q.close();
});
