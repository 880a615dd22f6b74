// What a task returns is its job's result, held to the payload's rule (checkedJson,
// lib/queue/payload-json.ts): a value JSON cannot carry as given (a function, a Symbol, NaN or
// ±Infinity anywhere in it, a BigInt, a cycle) fails the attempt for good, naming where, where
// it was stored as null before (`() => 1` finished with result null, `{ n: NaN }` as
// `{"n":null}`). undefined is null; a key whose value is a function is left out, as JSON does.
import { describe, expect, test } from "bun:test";
import { runTask } from "../lib/testing.ts";
import { defineTask, type Task } from "../lib/types.ts";
import { openQueue, startWorker, testPrefix } from "./helpers.ts";

const circular: { self?: unknown } = {};
circular.self = circular;

/** name, what the task returns, then the job's end: its result, or its failure's error. */
const CASES: [string, () => unknown, { result: unknown } | { error: string }][] = [
  [
    "function",
    () => () => 1,
    {
      error:
        "the result is no JSON value: a function, a Symbol, or a toJSON that returns undefined",
    },
  ],
  [
    "symbol",
    () => Symbol("s"),
    {
      error:
        "the result is no JSON value: a function, a Symbol, or a toJSON that returns undefined",
    },
  ],
  [
    "nan",
    () => ({ n: Number.NaN, i: Number.POSITIVE_INFINITY }),
    {
      error:
        "the result holds a number JSON cannot carry (NaN) at result.n: it would be stored as null",
    },
  ],
  [
    "inf",
    () => ({ a: [1, Number.NEGATIVE_INFINITY] }),
    {
      error:
        "the result holds a number JSON cannot carry (-Infinity) at result.a[1]: it would be stored as null",
    },
  ],
  [
    "toplevel-nan",
    () => Number.NaN,
    {
      error:
        "the result holds a number JSON cannot carry (NaN) at result: it would be stored as null",
    },
  ],
  [
    "bigint",
    () => 1n,
    { error: "the result cannot be written as JSON: JSON.stringify cannot serialize BigInt." },
  ],
  [
    "circular",
    () => circular,
    {
      error:
        "the result nests too deeply: more than 1000 levels of arrays and objects (or it contains itself)",
    },
  ],
  ["undefined", () => undefined, { result: null }],
  ["dropped-key", () => ({ f: () => 1, x: 1 }), { result: { x: 1 } }],
  ["plain", () => ({ n: 1, s: "a" }), { result: { n: 1, s: "a" } }],
];

describe("a task's result is held to the payload's rule", () => {
  test("each ends as the rule says, failed ones for good (one attempt)", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 3 });
    const tasks = CASES.map(
      ([name, value]) => defineTask({ name, run: async () => value() }) as Task,
    );
    const jobs = await q.enqueueMany(CASES.map(([task]) => ({ task, payload: null })));
    const w = await startWorker({ prefix, tasks, concurrency: 10 });
    const ids = jobs.map((j) => j.id);
    await q.waitForJobs(ids, { timeoutMs: 10_000 });
    const records = await q.getJobs(ids);
    const ends = records.map((r) =>
      r?.status === "finished" ? { result: r.result } : { error: r?.error, attempts: r?.attempts },
    );
    expect(ends).toEqual(
      CASES.map(([, , end]) => ("error" in end ? { ...end, attempts: 1 } : end)),
    );
    await w.stop();
  });

  test.each(CASES)("runTask agrees: %s", async (_name, value, end) => {
    const run = await runTask(defineTask({ name: "t", run: async () => value() }), null);
    if ("result" in end) expect(run).toMatchObject({ ok: true, result: end.result });
    else expect(run.ok === false && (run.error as Error).message).toBe(end.error);
  });
});
