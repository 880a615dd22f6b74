// How the readings of a queue's shards merge into one (lib/admin/shards.ts): tables, no Redis.
import { describe, expect, test } from "bun:test";
import { byShard, mergeWorkers, sumCounts, sumSeries } from "../lib/admin/shards.ts";
import { isCount, type QueueCounts } from "../lib/admin/stats.ts";
import type { WorkerInfo, WorkerState } from "../lib/admin/workers.ts";

function worker(state: WorkerState, o: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    name: "w",
    host: "h",
    pid: 1,
    concurrency: 4,
    inFlight: 1,
    processed: 1,
    failed: 0,
    lastHeartbeatMs: 1_000,
    state,
    heartbeatEveryMs: 5_000,
    tasks: [],
    ...o,
  };
}

describe("workers merged by name", () => {
  test.each([
    [["idle", "busy"], "busy"],
    [["gone", "late"], "late"],
    [["gone", "gone"], "gone"],
    [["late", "idle"], "idle"],
  ] as [WorkerState[], WorkerState][])("states %p make %p", (states, merged) => {
    const [w] = mergeWorkers(states.map((s) => [worker(s)]));
    expect(w!.state).toBe(merged);
  });

  test("counts summed, the latest heartbeat, tasks united; an unknown in-flight count is not a zero", () => {
    const merged = mergeWorkers([
      [worker("busy", { inFlight: 2, processed: 5, lastHeartbeatMs: 900, tasks: ["a"] })],
      [worker("idle", { inFlight: null, processed: 3, lastHeartbeatMs: 200, tasks: ["a", "b"] })],
      [worker("idle", { inFlight: 1, processed: 0, lastHeartbeatMs: 400 })],
      [worker("idle", { name: "other", inFlight: 0 })],
    ]);
    expect(
      merged.map((w) => [w.name, w.inFlight, w.processed, w.lastHeartbeatMs, w.tasks]),
    ).toEqual([
      ["w", 3, 8, 200, ["a", "b"]],
      ["other", 0, 1, 1_000, []],
    ]);
  });
});

test("series added minute by minute; shards a minute apart give the latest minutes", () => {
  const p = (at: number, finished: number) => ({ at, finished, failed: 0, retried: 1 });
  expect(
    sumSeries(
      [
        [p(0, 1), p(60_000, 2)],
        [p(60_000, 3), p(120_000, 4)],
      ],
      2,
    ),
  ).toEqual([
    { at: 60_000, finished: 5, failed: 0, retried: 2 },
    { at: 120_000, finished: 4, failed: 0, retried: 1 },
  ]);
});

/** A shard's counts: `waiting`, its oldest waiting job, jobs parked for task t, `finished` in total. */
function shardCounts(
  waiting: number,
  oldest: number | null,
  parked: number,
  finished = 1,
): QueueCounts {
  return {
    queue: "shard",
    waiting,
    inFlight: 1,
    delayed: 0,
    dead: 2,
    oldestWaitingMs: oldest,
    finished: { lastMinute: 30, lastHour: 60 },
    failed: { lastMinute: 0, lastHour: 1 },
    retried: { lastMinute: 0, lastHour: 0 },
    throughputPerS: 0.5,
    totals: {
      enqueued: 1,
      started: 1,
      finished,
      failed: 0,
      retried: 0,
      dead: 0,
      claimed: 0,
      requeued: 0,
      dead_trimmed: Number.NaN,
      canceled: 1,
    },
    unservedTasks: parked === 0 ? [] : [{ task: "t", jobs: parked }],
    unservedTasksTotal: parked === 0 ? 0 : 1,
    parked,
  };
}

test("counts: sums, the oldest waiting job of any shard, parked jobs by task", () => {
  const c = shardCounts;
  const sum = sumCounts("q", [c(3, null, 0), c(4, 9_000, 2), c(0, 2_000, 5)]);
  expect(sum).toMatchObject({
    queue: "q",
    waiting: 7,
    inFlight: 3,
    dead: 6,
    oldestWaitingMs: 9_000,
  });
  expect(sum.throughputPerS).toBe(1.5);
  expect(sum.totals.enqueued).toBe(3);
  expect(sum.totals.dead_trimmed).toBeNaN(); // one shard's corrupt counter: unknown, not a number
  expect(sum.unservedTasks).toEqual([{ task: "t", jobs: 7 }]);
  expect(sum.parked).toBe(7);
});

test.each([[-5], [1.5], [Number.POSITIVE_INFINITY]])(
  "one shard's counter of %p (corrupt) leaves the sum unknown, as on one shard: never a count that went back",
  (bad) => {
    const shard = (finished: number) => shardCounts(0, null, 0, finished);
    const one = sumCounts("q", [shard(bad)]);
    const two = sumCounts("q", [shard(bad), shard(10)]);
    expect(isCount(one.totals.finished)).toBe(false);
    expect(isCount(two.totals.finished)).toBe(false);
    expect(sumCounts("q", [shard(3), shard(10)]).totals.finished).toBe(13);
  },
);

test("ids go to their shard; an auto id of no shard of the queue goes nowhere", () => {
  const groups = byShard(["1-0:4", "1-0:0", "2-0:4", "1-0", "1-0:9"], 6);
  expect([...groups].sort()).toEqual([
    [0, ["1-0:0"]],
    [4, ["1-0:4", "2-0:4"]],
  ]);
});
