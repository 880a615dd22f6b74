// runTask (lib/testing.ts): a task run once in-process, without Redis, as a worker would run it.
import { describe, expect, test } from "bun:test";
import {
  ConfigError,
  InputError,
  JobTimeoutError,
  PermanentError,
  runTask,
  type TaskContext,
} from "../lib/index.ts";
import { defineTask } from "../lib/types.ts";

const never = () => new Promise<never>(() => {});
/** The abort reasons waitsForAbort saw. */
const sawAbort: unknown[] = [];

const tasks = {
  add: defineTask({ name: "add", run: async (p: { a: number; b: number }) => p.a + p.b }),
  throws: defineTask({
    name: "throws",
    run: async () => {
      throw new PermanentError("bad input");
    },
  }),
  progress: defineTask({
    name: "progress",
    run: async (_: unknown, ctx: TaskContext) => {
      for (let i = 0; i <= 100; i += 50) ctx.progress(i);
      ctx.progress({ step: "done" });
      ctx.log("info", "counted", { n: 3 });
      return { id: ctx.id, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts };
    },
  }),
  waitsForAbort: defineTask({
    name: "waits",
    run: (_: unknown, signal: AbortSignal) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener("abort", () => {
          sawAbort.push(signal.reason);
          reject(new Error("saw the abort"));
        }),
      ),
  }),
  returnsDate: defineTask({ name: "date", run: async () => new Date(0) }),
  returnsBigInt: defineTask({ name: "bigint", run: async () => 1n }),
  echo: defineTask({ name: "echo", run: async (p: unknown) => p }),
};

describe("runTask", () => {
  test.each([
    ["a result", tasks.add, { a: 2, b: 3 }, { ok: true, result: 5 }],
    ["a thrown error", tasks.throws, null, { ok: false, error: new PermanentError("bad input") }],
    // As a worker stores them: through JSON.
    [
      "a result through JSON",
      tasks.returnsDate,
      null,
      { ok: true, result: "1970-01-01T00:00:00.000Z" },
    ],
    [
      "a payload through JSON",
      tasks.echo,
      { at: new Date(0) },
      { ok: true, result: { at: "1970-01-01T00:00:00.000Z" } },
    ],
  ] as const)("%s", async (_, task, payload, expected) => {
    const run = await runTask(task as never, payload);
    expect(run).toMatchObject(expected);
  });

  test("a result that is not JSON fails as the worker fails it: permanently", async () => {
    const run = await runTask(tasks.returnsBigInt, null);
    expect(run.ok).toBe(false);
    expect(run.ok === false && run.error).toBeInstanceOf(PermanentError);
  });

  test("every progress value and log line is captured, with the context's facts", async () => {
    const run = await runTask(tasks.progress, null, { id: "j-1", attempt: 2, maxAttempts: 3 });
    expect(run).toEqual({
      ok: true,
      result: { id: "j-1", attempt: 2, maxAttempts: 3 },
      progress: [0, 50, 100, { step: "done" }],
      logs: [{ level: "info", event: "counted", fields: { n: 3, job: "j-1", task: "progress" } }],
    });
  });

  test("a bad progress value throws a TypeError in the task", async () => {
    const task = defineTask({
      name: "bad",
      run: async (_: unknown, ctx: TaskContext) => ctx.progress(150),
    });
    const run = await runTask(task, null);
    expect(run.ok === false && run.error).toBeInstanceOf(TypeError);
  });

  test("an abort through the given signal ends the run with its reason; the task sees it", async () => {
    const controller = new AbortController();
    const running = runTask(tasks.waitsForAbort, null, { signal: controller.signal });
    controller.abort(new Error("stop"));
    const run = await running;
    expect(run.ok === false && (run.error as Error).message).toBe("stop");
    expect(sawAbort.map((r) => (r as Error).message)).toEqual(["stop"]);
  });

  test("a signal aborted already: the task is not run", async () => {
    let ran = false;
    const task = defineTask({ name: "t", run: async () => (ran = true) });
    const run = await runTask(task, null, { signal: AbortSignal.abort("no") });
    expect(run).toMatchObject({ ok: false, error: "no" });
    expect(ran).toBe(false);
  });

  test("a time limit ends the run with a JobTimeoutError, as a worker's would", async () => {
    const task = defineTask({ name: "slow", run: never });
    const run = await runTask(task, null, { timeoutMs: 20 });
    expect(run.ok === false && run.error).toBeInstanceOf(JobTimeoutError);
  });

  test("a payload the task's validate refuses is an error", async () => {
    const task = defineTask({
      name: "checked",
      validate: (p: unknown) => {
        if (typeof p !== "number") throw new TypeError("a number, please");
        return p;
      },
      run: async (p: number) => p * 2,
    });
    expect(await runTask(task, 4)).toMatchObject({ ok: true, result: 8 });
    const run = await runTask(task, "4");
    expect(run.ok === false && (run.error as Error).message).toBe("a number, please");
  });

  test("ctx.log given a field whose getter throws logs the others: the task goes on", async () => {
    const task = defineTask({
      name: "logs",
      run: async (_: unknown, ctx) => {
        ctx.log("warn", "odd", {
          n: 1,
          get bad(): number {
            throw new Error("getter boom");
          },
        });
        return "ran";
      },
    });
    const run = await runTask(task, null, { id: "j-1" });
    expect(run.ok && run.result).toBe("ran");
    expect(run.logs).toEqual([
      {
        level: "warn",
        event: "odd",
        fields: { n: 1, bad: "not written: getter boom", job: "j-1", task: "logs" },
      },
    ]);
  });

  test("a validate that returns a promise, or a payload no enqueue takes, is the enqueue's InputError", async () => {
    const task = defineTask({
      name: "checked",
      validate: async (p: unknown) => p,
      run: async (p: unknown) => p,
    });
    const run = await runTask(task, { n: 1 });
    expect(run.ok === false && run.error).toBeInstanceOf(InputError);
    expect(run.ok === false && (run.error as Error).message).toStartWith(
      'task "checked": validate returned a promise',
    );
    for (const [payload, message] of [
      [{ n: Number.NaN }, "payload.n"],
      [{ n: 1n }, "BigInt"],
      [() => 1, "no JSON value"],
    ] as const) {
      const refused = await runTask(tasks.echo, payload);
      expect(refused.ok === false && refused.error).toBeInstanceOf(InputError);
      expect(refused.ok === false && (refused.error as Error).message).toContain(message);
    }
  });

  test("the task gets a fence: the attempt by default (a later attempt, a higher one), or the one given", async () => {
    const fence = defineTask({
      name: "fence",
      run: async (_: unknown, ctx: TaskContext, job) => ({ ctx: ctx.fence, job: job.fence }),
    });
    expect(await runTask(fence, null)).toMatchObject({ result: { ctx: "1", job: "1" } });
    expect(await runTask(fence, null, { attempt: 3 })).toMatchObject({ result: { ctx: "3" } });
    const given = "1764423456789000000000000000000000000000000000000000002";
    expect(await runTask(fence, null, { fence: given })).toMatchObject({
      result: { ctx: given, job: given },
    });
    await expect(runTask(fence, null, { fence: "01" })).rejects.toThrow(
      'runTask: not a fence: "01"',
    );
  });

  // Taken as given, they made a run no worker makes (`ctx.id` a number, attempt 0, a
  // maxAttempts of "3"), a signal of "x" a raw TypeError from inside, parents of 5 a failed run.
  test.each([
    [{ id: 5 }, "runTask's id must be a non-empty string, got 5"],
    [{ id: "" }, 'runTask\'s id must be a non-empty string, got ""'],
    [{ attempt: 0 }, "runTask's attempt must be a whole number from 1 to 1000000, got 0"],
    [{ attempt: 1.5 }, "runTask's attempt must be a whole number from 1 to 1000000, got 1.5"],
    [
      { maxAttempts: "3" },
      'runTask\'s maxAttempts must be a whole number from 1 to 1000000, got "3"',
    ],
    [{ signal: "x" }, 'runTask\'s signal must be an AbortSignal, got "x"'],
    [{ parents: 5 }, "runTask's parents must be a list or an (async) iterable of outcomes, got 5"],
    [
      { parents: "ab" },
      'runTask\'s parents must be a list or an (async) iterable of outcomes, got "ab"',
    ],
  ])("refuses %j with one ConfigError line, the task not run", async (options, message) => {
    let ran = false;
    const task = defineTask({ name: "t", run: async () => (ran = true) });
    const run = runTask(task, null, options as never);
    await expect(run).rejects.toThrow(new ConfigError(message));
    expect(ran).toBe(false);
  });
});
