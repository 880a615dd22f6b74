// What the Queue's calls are given is checked before anything is sent: a string where an id
// list goes (which would be read as its characters: cancel("abc") canceled "a", "b" and "c"),
// a wait with no options or a timeout that is no number (NaN never times out), a spec that is
// no object, a null task, a bad inFlight: each an InputError (ConfigError for connect's
// options) in one line, naming what was wrong.
import { describe, expect, test } from "bun:test";
import { ConfigError, InputError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { openQueue, startWorker, testPrefix } from "./helpers.ts";

// biome-ignore lint/suspicious/noExplicitAny: the calls are given what their types forbid
const bad = (v: unknown) => v as any;

describe("id lists", () => {
  test("cancel('abc') cancels nothing: refused, jobs a, b and c still queued", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    for (const id of ["a", "b", "c"]) await q.enqueue("t", 1, { id: `${id}` });
    await expect(q.cancel(bad("abc"))).rejects.toThrow(
      'cancel takes an array of job ids, got the string "abc"',
    );
    for (const id of ["a", "b", "c"]) expect((await q.getJob(id))?.status).toBe("queued");
  });

  test.each([
    ["getJobs", (q: Queue) => q.getJobs(bad("abc")), "getJobs takes an array of job ids"],
    ["getJobs [null]", (q: Queue) => q.getJobs(bad([null])), "each job id must be a string"],
    ["getJob 42", (q: Queue) => q.getJob(bad(42)), "getJob: each job id must be a string"],
    ["cancel [42]", (q: Queue) => q.cancel(bad([42])), "cancel: each job id must be a string"],
    [
      "waitForJobs",
      (q: Queue) => q.waitForJobs(bad("abc"), { timeoutMs: 1 }),
      "waitForJobs takes an array",
    ],
  ])("%s: InputError at once", async (_name, call, message) => {
    await using q = await openQueue({ prefix: testPrefix(), retryConnectS: 2 });
    const err = await call(q).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(message);
  });
});

describe("waitForJobs' options", () => {
  test.each([
    [undefined, "waitForJobs needs options { timeoutMs }, got undefined"],
    [{}, "timeoutMs must be a number of milliseconds, got undefined"],
    [{ timeoutMs: Number.NaN }, "timeoutMs must be a number of milliseconds, got the number NaN"],
    [{ timeoutMs: "2000" }, 'timeoutMs must be a number of milliseconds, got the string "2000"'],
  ])("%p: refused (it would never time out)", async (options, message) => {
    await using q = await openQueue({ prefix: testPrefix() });
    const id = await q.enqueue("nobody-runs-this", 1);
    await expect(q.waitForJobs([id], bad(options))).rejects.toThrow(message);
  });

  test("Infinity waits for ever: taken (an unknown id ends it at once)", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const { ended } = await q.waitForJobs(["nope"], { timeoutMs: Number.POSITIVE_INFINITY });
    expect(ended.get("nope")).toBeNull();
  });
});

describe("every option of a call is checked, not its keys only", () => {
  const wait = (options: object) => (q: Queue) =>
    q.waitForJobs(["1-1"], bad({ timeoutMs: 10, ...options }));
  const events = (options: object) => async (q: Queue) => {
    const it = q.events(bad(options));
    await it.return(); // taken: close its connection
  };
  test.each([
    [
      "wait signal",
      wait({ signal: "x" }),
      `waitForJobs' signal must be an AbortSignal, got the string "x"`,
    ],
    [
      "wait blockMs",
      wait({ blockMs: "x" }),
      `waitForJobs' blockMs must be a whole number from 1 to 1000000000, got the string "x"`,
    ],
    [
      "wait recheckMs",
      wait({ recheckMs: -5 }),
      "waitForJobs' recheckMs must be a whole number from 0 to 1000000000, got the number -5",
    ],
    [
      "wait keepRecords",
      wait({ keepRecords: "no" }),
      `waitForJobs' keepRecords must be true or false, got the string "no"`,
    ],
    [
      "wait onProgress",
      wait({ onProgress: 5 }),
      "waitForJobs' onProgress must be a function, got the number 5",
    ],
    [
      "wait onJobProgress",
      wait({ onJobProgress: {} }),
      "waitForJobs' onJobProgress must be a function, got an object",
    ],
    [
      "wait onError",
      wait({ onError: "x" }),
      `waitForJobs' onError must be a function, got the string "x"`,
    ],
    [
      "events from",
      events({ from: 5 }),
      `events' from must be "now", "start" or a cursor an event carried, got the number 5`,
    ],
    [
      "events blockMs",
      events({ blockMs: "x" }),
      `events' blockMs must be a whole number from 1 to 1000000000, got the string "x"`,
    ],
    [
      "events blockMs 0",
      events({ blockMs: 0 }),
      "events' blockMs must be a whole number from 1 to 1000000000, got the number 0",
    ],
    [
      "events onError",
      events({ onError: "x" }),
      `events' onError must be a function, got the string "x"`,
    ],
    [
      "enqueueMany lingerMs",
      (q: Queue) => q.enqueueMany([{ task: "t" }], bad({ lingerMs: -1 })),
      "lingerMs must be a whole number from 0 to",
    ],
  ])("%s: InputError naming it, nothing sent", async (_name, call, message) => {
    await using q = await openQueue({ prefix: testPrefix() });
    const err = await (async () => call(q))().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(message);
    expect(await q.getJobs(["1-1"])).toEqual([null]);
  });

  test.each([
    [-5, "stop's graceMs must be a whole number from 0 to 1000000000, got the number -5"],
    ["x", `stop's graceMs must be a whole number from 0 to 1000000000, got the string "x"`],
  ])("worker.stop(%p): InputError, the worker still runs", async (graceMs, message) => {
    const prefix = testPrefix();
    const worker = await startWorker({ prefix, tasks: [] });
    const err = await worker.stop(bad(graceMs)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(message);
    await worker.stop(0);
  });
});

describe("a value of the wrong kind is named by its kind, not shown as the number it looks like", () => {
  test.each([
    [
      { delayMs: "5000" },
      `delayMs must be a number of milliseconds up to 31536000000 (one year), got the string "5000"`,
    ],
    [
      { maxAttempts: "3" },
      `maxAttempts must be a whole number from 1 to 1000000, got the string "3"`,
    ],
    [
      { runAt: "tomorrow" },
      `runAt must be a time (ms since the epoch, or a Date) at most one year ahead, got the string "tomorrow"`,
    ],
    [{ runAt: new Date("x") }, "at most one year ahead, got the Date Invalid Date"],
    [{ id: 5 }, "job id must be a string, got the number 5"],
    [{ limitKey: 5 }, "limitKey must be a string, got the number 5"],
  ])("enqueue %p: InputError", async (options, message) => {
    await using q = await openQueue({ prefix: testPrefix() });
    await expect(q.enqueue("t", 1, bad(options))).rejects.toThrow(message);
  });
});

describe("specs, tasks and options", () => {
  test.each([
    ["enqueue(null task)", (q: Queue) => q.enqueue(bad(null), 1), "a job needs a task name"],
    ["enqueue(123 task)", (q: Queue) => q.enqueue(bad(123), 1), "a job needs a task name"],
    [
      "enqueueMany('abc')",
      (q: Queue) => q.enqueueMany(bad("abc")),
      'enqueueMany takes an array of job specs, got the string "abc"',
    ],
    [
      "enqueueMany([null])",
      (q: Queue) => q.enqueueMany(bad([null])),
      "a job spec must be an object { task, payload, … }, got null",
    ],
  ])("%s: InputError", async (_name, call, message) => {
    await using q = await openQueue({ prefix: testPrefix() });
    const err = await call(q).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(message);
  });

  test("enqueueBatches with a null spec: that batch refused with an InputError", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const outcomes = [];
    for await (const o of q.enqueueBatches(bad([null]))) outcomes.push(o);
    expect(outcomes).toHaveLength(1);
    const [o] = outcomes;
    expect(o?.ok).toBe(false);
    expect(o && !o.ok ? o.error : null).toBeInstanceOf(InputError);
  });

  test.each([0, Number.NaN, 1.5, 1e9])("enqueueStream inFlight %p: named", async (inFlight) => {
    await using q = await openQueue({ prefix: testPrefix() });
    const run = async () => {
      for await (const _ of q.enqueueStream([{ task: "t" }], { inFlight })) {
        // nothing: the option is refused before any batch
      }
    };
    const err = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toStartWith("inFlight must be a whole number from 1 to 1000");
  });

  test("Queue.connect(null): ConfigError", async () => {
    const err = await Queue.connect(bad(null)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe("options must be an object, got null");
  });
});
