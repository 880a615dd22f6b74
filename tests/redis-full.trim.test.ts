// On a full Redis a job that fails for good keeps a compact dead letter, and the oldest letter
// goes for it once LETTER_LOOKBACK letters are kept (lib/engine/lua/include/dead.lua): failing
// frees the job's stream entry instead of taking memory, so a queue where every job fails
// drains. Dropped letters are counted (`dead_trimmed`), shown by `info` and /metrics.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { QueueReport } from "../lib/admin/info.ts";
import { renderMetrics } from "../lib/admin/metrics.ts";
import { readCounts } from "../lib/admin/stats.ts";
import { formatInfo } from "../lib/cli/info-text.ts";
import { buryEntries } from "../lib/engine/bury.ts";
import { claimLapsed } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { LETTER_LOOKBACK } from "../lib/engine/letters.ts";
import {
  deadLetters,
  deliver,
  type EngineQueue,
  engineQueue,
  failedAttempt,
  plant,
} from "./fixtures/plant.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";
import { ROOT } from "./helpers.ts";

let small: SmallRedis | null = null;
afterEach(async () => {
  await small?.stop();
  small = null;
});

// A word-count job's payload, as bench/memory-per-job.ts enqueues it.
const payload = (i: number) =>
  JSON.stringify({ url: `https://www.example.org/articles/${100_000 + i}` });
const ERROR = "HTTP 404 Not Found from https://www.example.org/articles/100000";
const OPTS = { consumer: "w1", deadMaxLen: 100_000, eventsMaxLen: 10_000 };
const FOR_GOOD = { error: ERROR, retryInMs: null };

/** Used memory less client buffers (they move with every reply), as the benches measure it. */
async function used(s: SmallRedis): Promise<number> {
  const info = String(await s.redis.sendCommand(["INFO", "memory"]));
  const n = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? 0);
  return n("used_memory") - n("mem_clients_normal");
}

/** `letters` compact letters as earlier failures left them, then `jobs` queued entries. */
async function queueWith(
  letters: number,
  jobs: number,
): Promise<{ v: EngineQueue; entries: string[] }> {
  small = await startSmallRedis(0);
  const v = await engineQueue(small.redis);
  for (let i = 0; i < letters; i += 500) {
    const batch = [...Array(Math.min(500, letters - i)).keys()].map((j) => [
      "XADD",
      v.k.dead,
      "*",
      "id",
      `old-${i + j}`,
      "task",
      "wordcount",
      "error",
      ERROR,
      "attempts",
      "1",
      "payload",
      payload(i + j),
      "max_attempts",
      "3",
      "record",
      "dropped",
    ]);
    await Promise.all(batch.map((c) => v.r.sendCommand(c)));
  }
  const entries: string[] = [];
  for (let i = 0; i < jobs; i++) entries.push(await plant(v, { t: "wordcount", p: payload(i) }));
  return { v, entries };
}

/**
 * Reads the entries and fails each for good with a compact letter (failure TTL 0: Redis is
 * full), 100 at a time as a worker would: what is measured is a queued job becoming a failed one.
 */
async function failAll(v: EngineQueue, entries: readonly string[]) {
  for (let i = 0; i < entries.length; i += 100) {
    expect(await deliver(v, "w1", 100)).toEqual(entries.slice(i, i + 100));
    const items = entries.slice(i, i + 100).map((e) => failedAttempt(e, FOR_GOOD));
    const codes = await failJobs(v.client, v.k, { ...OPTS, failureTtlS: 0 }, items);
    expect(codes.every((c) => c === "failed")).toBe(true);
  }
}

const stat = async (v: EngineQueue, name: string) =>
  Number(await v.r.sendCommand(["HGET", v.k.stats, name]));

describe("dead letters on a full Redis", () => {
  test("each compact letter drops the oldest once LETTER_LOOKBACK are kept: failing frees memory per job", async () => {
    const N = 3_000;
    const { v, entries } = await queueWith(LETTER_LOOKBACK, N + 100);
    await small!.capBelowUsed();
    await expect(v.r.sendCommand(["SET", "probe", "x"])).rejects.toThrow(/^OOM /);
    // A first batch loads the script and makes the counters: paid once, not per job.
    await failAll(v, entries.slice(0, 100));
    const before = await used(small!);
    await failAll(v, entries.slice(100));
    const after = await used(small!);
    // The job's stream entry (94 B) is freed, a share of a batch's `failed` event taken; the
    // letters' stream nodes are freed whole as their letters go. Measured: 60 to 89 B per job
    // freed (how many letter nodes are freed whole within the run varies). Without the trim the
    // memory grows instead, by 85 B per job.
    const freedPerJob = (before - after) / N;
    expect(freedPerJob).toBeGreaterThan(40);
    // Every job failed and is counted once; the letters kept their number, the oldest went.
    expect(await stat(v, "dead")).toBe(N + 100);
    expect(await stat(v, "dead_trimmed")).toBe(N + 100);
    const letters = await deadLetters(v);
    expect(letters.length).toBe(LETTER_LOOKBACK);
    const id = (fs: string[]) => fs[fs.indexOf("id") + 1];
    expect(letters.map(([, fs]) => id(fs))).toEqual(entries.slice(-LETTER_LOOKBACK));
    expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  });

  test("with fewer than LETTER_LOOKBACK letters kept, none is dropped until there are", async () => {
    const { v, entries } = await queueWith(LETTER_LOOKBACK - 10, 30);
    await small!.capBelowUsed();
    await failAll(v, entries);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(LETTER_LOOKBACK);
    expect(await stat(v, "dead_trimmed")).toBe(20);
    const first = (await deadLetters(v))[0]![1];
    expect(first[first.indexOf("id") + 1]).toBe("old-20");
  });

  test("a letter written while Redis has room drops nothing", async () => {
    const { v, entries } = await queueWith(LETTER_LOOKBACK, 5);
    await deliver(v, "w1");
    const items = entries.map((e) => failedAttempt(e, FOR_GOOD));
    await failJobs(v.client, v.k, { ...OPTS, failureTtlS: 60 }, items);
    expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(LETTER_LOOKBACK + 5);
    expect(await v.r.sendCommand(["HGET", v.k.stats, "dead_trimmed"])).toBeNull();
  });

  test("a burial and a claim whose attempts are used up drop the oldest too, counted", async () => {
    const { v } = await queueWith(LETTER_LOOKBACK, 0);
    const bad = await plant(v, { t: "wordcount", p: payload(1), i: "job-1" });
    const spent = await plant(v, { t: "wordcount", p: payload(2), a: 2, m: 3 });
    await deliver(v, "w1");
    await small!.capBelowUsed();
    const bo = { ...OPTS, failureTtlS: 0 };
    const problem = { entryId: bad, id: "job-1", problem: "bad fields" };
    expect(await buryEntries(v.client, v.k, bo, [problem])).toEqual([1]);
    const co = { ...OPTS, consumer: "w2", minIdleMs: 0, count: 10, failureTtlS: 0 };
    const { claimed } = await claimLapsed(v.client, v.k, co);
    expect(claimed.map((c) => c.kind)).toEqual(["buried"]);
    expect(await stat(v, "dead_trimmed")).toBe(2);
    const ids = (await deadLetters(v)).map(([, fs]) => fs[fs.indexOf("id") + 1]);
    expect(ids.length).toBe(LETTER_LOOKBACK);
    expect(ids.slice(0, 1)).toEqual(["old-2"]);
    expect(ids.slice(-2)).toEqual(["job-1", spent]);
  });

  test("info and /metrics show the letters dropped", async () => {
    const { v, entries } = await queueWith(LETTER_LOOKBACK, 3);
    await small!.capBelowUsed();
    await failAll(v, entries);
    const { counts } = await readCounts(v.client, v.k, "q", Date.now());
    expect(counts.totals.dead_trimmed).toBe(3);
    const report: QueueReport = { ...counts, workers: [], shards: 1, placement: [] };
    expect(formatInfo({ time: "", redis: null, queues: [report] })).toContain(
      "  trimmed    3 dead letters dropped (oldest first) for newer ones while Redis was full",
    );
    const durations = { buckets: new Map(), sumMs: 0, count: 0 };
    expect(renderMetrics([{ counts, liveWorkers: 0, durations }])).toContain(
      'courier_jobs_dead_trimmed_total{queue="q"} 3',
    );
  });

  test("the letters kept on a full Redis are the ones a missing record is looked for in", async () => {
    const lua = await Bun.file(join(ROOT, "lib/engine/lua/include/dead.lua")).text();
    expect(Number(/^local LETTERS_KEPT_WHEN_FULL = (\d+)$/m.exec(lua)?.[1])).toBe(LETTER_LOOKBACK);
  });
});
