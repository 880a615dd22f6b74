// Which waits may skip their first look (lib/queue/recent.ts): jobs of a small batch this
// Queue just enqueued, by auto id, each once, the earliest cursor of several. Pure logic, a
// table of cases with an injected clock.
import { describe, expect, test } from "bun:test";
import type { Enqueued } from "../lib/engine/enqueue.ts";
import { compareStreamIds, RecentJobs } from "../lib/queue/recent.ts";

/** The cursor of shard 0 (these jobs are of a one-shard queue), or null: no cursor at all. */
const first = (from: Map<number, string> | null): string | null => from?.get(0) ?? null;

const auto = (id: string): Enqueued => ({ id, entryId: id, created: true });

function recent(): { jobs: RecentJobs; clock: { ms: number } } {
  const clock = { ms: 1_000 };
  return { jobs: new RecentJobs(() => clock.ms), clock };
}

describe("RecentJobs", () => {
  test("a job just enqueued: its cursor, once", () => {
    const { jobs } = recent();
    jobs.remember({ jobs: [auto("5-0")], eventsCursor: "4-2" });
    expect(first(jobs.cursorsFor(["5-0"]))).toBe("4-2");
    expect(first(jobs.cursorsFor(["5-0"]))).toBeNull();
  });

  test("several jobs: the earliest cursor; one unknown id: none", () => {
    const { jobs } = recent();
    jobs.remember({ jobs: [auto("9-0")], eventsCursor: "10-0" });
    jobs.remember({ jobs: [auto("7-0"), auto("7-1")], eventsCursor: "9-3" });
    expect(first(jobs.cursorsFor(["9-0", "7-1", "other"]))).toBeNull();
    expect(first(jobs.cursorsFor(["9-0", "7-1"]))).toBe("9-3");
  });

  test.each([
    ["a caller id", { id: "order-1", entryId: "5-0", created: true }],
    ["a job that existed", { id: "order-1", entryId: null, created: false }],
    ["a delayed job (no entry yet)", { id: "0190a-x", entryId: null, created: true }],
  ])("%s is not remembered", (_, job) => {
    const { jobs } = recent();
    jobs.remember({ jobs: [job], eventsCursor: "1-0" });
    expect(first(jobs.cursorsFor([job.id]))).toBeNull();
  });

  test("no cursor in the reply, a batch too big to wait on cheaply: nothing remembered", () => {
    const { jobs } = recent();
    jobs.remember({ jobs: [auto("5-0")], eventsCursor: null });
    const big = Array.from({ length: 17 }, (_, k) => auto(`6-${k}`));
    jobs.remember({ jobs: big, eventsCursor: "1-0" });
    expect(first(jobs.cursorsFor(["5-0"]))).toBeNull();
    expect(first(jobs.cursorsFor(["6-0"]))).toBeNull();
  });

  test("past half a second after its enqueue (its outcome may have expired): none", () => {
    const { jobs, clock } = recent();
    jobs.remember({ jobs: [auto("5-0"), auto("5-1")], eventsCursor: "1-0" });
    clock.ms += 500;
    expect(first(jobs.cursorsFor(["5-0"]))).toBe("1-0");
    clock.ms += 1;
    expect(first(jobs.cursorsFor(["5-1"]))).toBeNull();
  });

  test("keeps the latest 1,024 jobs", () => {
    const { jobs } = recent();
    for (let k = 0; k < 1_025; k++) jobs.remember({ jobs: [auto(`5-${k}`)], eventsCursor: "1-0" });
    expect(first(jobs.cursorsFor(["5-0"]))).toBeNull();
    expect(first(jobs.cursorsFor(["5-1"]))).toBe("1-0");
    expect(first(jobs.cursorsFor(["5-1024"]))).toBe("1-0");
  });

  test.each([
    ["1-0", "1-0", 0],
    ["9-5", "10-0", -1],
    ["10-0", "9-5", 1],
    ["7-10", "7-9", 1],
    ["18446744073709551615-1", "18446744073709551615-0", 1],
  ])("compareStreamIds(%s, %s) = %d", (a, b, want) => {
    expect(compareStreamIds(a, b)).toBe(want);
  });
});
