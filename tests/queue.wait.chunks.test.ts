// A wait for, or a read of, many jobs (`trigger --file big --wait`): status.lua gets at most
// STATUS_CHUNK ids per call, so one call never holds Redis for long (other clients got BUSY for
// 37 s with 300,000 ids in one call), and the wait's time limit holds even in its first look.
import { describe, expect, test } from "bun:test";
import { waitForAll } from "../lib/cli/trigger-wait.ts";
import { scripts } from "../lib/engine/lua.ts";
import { readStatuses, STATUS_CHUNK } from "../lib/engine/status.ts";
import { waitForJobs } from "../lib/queue/wait.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { asClient, enqueue, freshQueue } from "./fixtures/engine.ts";
import { openQueue, type RawRedis, rawRedis, testPrefix } from "./helpers.ts";

const MANY = 20_000;

/** The client, recording the number of job ids of each status.lua call; `slowMs` delays them. */
function recording(r: RawRedis | Redis, slowMs = 0) {
  const calls: number[] = [];
  const client = new Proxy(r, {
    get(target, prop, receiver) {
      if (prop !== "sendCommand") return Reflect.get(target, prop, receiver);
      return async (args: readonly string[]) => {
        if (args[0] === "EVALSHA" && args[1] === scripts.status.sha) {
          // EVALSHA sha numkeys, the keys (the levels' too), 5 ARGV, then the ids
          calls.push(args.length - 3 - Number(args[2]) - 5);
          if (slowMs > 0) await Bun.sleep(slowMs); // a slow call: stands for a loaded Redis
        }
        return target.sendCommand(args as string[]);
      };
    },
  });
  return { client: client as unknown as Redis, calls };
}

const unknownIds = (n: number) => Array.from({ length: n }, (_, i) => `nope-${i}`);

describe("many jobs", () => {
  test("a status read of 20,000 ids: calls of at most STATUS_CHUNK, every id answered in order", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const [a, b, c] = await enqueue(r, keys, [
      { task: "t", payload: "1", maxAttempts: 1 },
      { task: "t", payload: "2", maxAttempts: 1 },
      { task: "t", payload: "3", maxAttempts: 1 },
    ]);
    const ids = unknownIds(MANY);
    // Known jobs at the start, on both sides of a call's edge, and at the end.
    ids[0] = a!.id;
    ids[STATUS_CHUNK] = b!.id;
    ids[MANY - 1] = c!.id;
    const { client, calls } = recording(r);
    const records = await readStatuses(client, keys, ids);
    expect(Math.max(...calls)).toBeLessThanOrEqual(STATUS_CHUNK);
    expect(calls.reduce((s, n) => s + n, 0)).toBe(MANY);
    expect(records).toHaveLength(MANY);
    expect([0, STATUS_CHUNK, MANY - 1].map((i) => records[i]?.payload)).toEqual([1, 2, 3]);
    expect(records.filter((x) => x !== null)).toHaveLength(3);
  });

  test("the wait returns at its time limit, mid-way through a slow first look", async () => {
    await using r = await rawRedis();
    await using blocking = await rawRedis();
    const keys = await freshQueue(r);
    // Each status call takes longer than the whole time limit: after the first, time is up.
    const { client, calls } = recording(r, 60);
    const ids = unknownIds(MANY);
    const waited = await waitForJobs(client, asClient(blocking), keys, ids, {
      timeoutMs: 50,
      keepRecords: false,
    });
    expect(calls.length).toBeLessThanOrEqual(1);
    expect(Math.max(0, ...calls)).toBeLessThanOrEqual(STATUS_CHUNK);
    // Unknown ids end at once (read as null); those not read yet are still pending.
    expect(waited.pending.length).toBeGreaterThanOrEqual(MANY - STATUS_CHUNK);
    expect(waited.ended.size).toBe(0); // keepRecords: false
  });

  test("trigger's read-back after the wait: pages of STATUS_CHUNK jobs, in input order", async () => {
    await using q = await openQueue({ prefix: testPrefix(), queue: "q" });
    const ids = unknownIds(2 * STATUS_CHUNK + 7);
    const pages: string[][] = [];
    const waited = await waitForAll(q, ids, 30, (jobs) => {
      pages.push(jobs.map((j) => j.id));
      expect(jobs.every((j) => j.record === null)).toBe(true);
    });
    expect(pages.map((p) => p.length)).toEqual([STATUS_CHUNK, STATUS_CHUNK, 7]);
    expect(pages.flat()).toEqual(ids);
    expect(waited).toEqual({ timedOut: false, allFinished: false, open: 0, total: ids.length });
  });
});
