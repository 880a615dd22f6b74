// What a task or a logger throws never reaches the worker's loop or the host: a thrown value
// that cannot be printed (or classified) fails its attempt at once, a throwing abort listener
// is dropped, a throwing logger loses its line only, and a huge error is clipped as the history
// clips it (lib/worker/attempt.ts, lib/worker/context.ts, lib/log.ts guardedLogger).
import { describe, expect, test } from "bun:test";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { clipError, ERROR_MAX_BYTES, UNPRINTABLE } from "../lib/errors.ts";
import { silentLogger } from "../lib/log.ts";
import { startScheduler } from "../lib/schedule/scheduler.ts";
import { runTask } from "../lib/testing.ts";
import { defineTask, type Task, type TaskContext } from "../lib/types.ts";
import { makeContext } from "../lib/worker/context.ts";
import { logRecorder, openQueue, redisUrl, startWorker, testPrefix } from "./helpers.ts";

// An error the host would be told of as uncaught (an abort listener's throw, a floating
// rejection) fails the test it happens in: bun test reports it as that test's error, which is
// what these tests rely on (seen failing so when each guard was taken out). Handlers of our own
// on process would never be called under bun test, so none are set.

/** A value whose every trap throws: no text, no class, no `code`. */
const hostile = () =>
  new Proxy(
    {},
    {
      get: () => {
        throw new Error("get trap");
      },
      getPrototypeOf: () => {
        throw new Error("prototype trap");
      },
    },
  );

const throwing = (name: string, value: () => unknown): Task =>
  defineTask({
    name,
    run: async () => {
      throw value();
    },
  }) as Task;

const never = () => new Promise<never>(() => {});

describe("a task that throws what cannot be printed", () => {
  test("each fails its attempt at once with an error that says so; the other jobs of its read finish", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const log = logRecorder();
    const tasks = [
      throwing("nullproto", () => Object.create(null)),
      throwing("proxy", hostile),
      throwing("getter", () => ({
        get code() {
          throw Object.create(null);
        },
      })),
      defineTask({
        name: "tojson",
        run: async () => ({
          toJSON: () => {
            throw Object.create(null);
          },
        }),
      }) as Task,
      // Not async: throws before it returns a promise.
      {
        name: "sync",
        run: () => {
          throw Object.create(null);
        },
      } as Task,
      defineTask({ name: "ok", run: async (p: number) => p }) as Task,
    ];
    const jobs = await q.enqueueMany(
      ["ok", "nullproto", "proxy", "getter", "tojson", "sync", "ok"].map((task, n) => ({
        task,
        payload: n,
      })),
    );
    const ids = jobs.map((j) => j.id);
    // The job time limit is the default 180 s: a stalled slot never ends within this wait.
    const w = await startWorker({ prefix, tasks, logger: log, concurrency: 8 });
    const { ended } = await q.waitForJobs(ids, { timeoutMs: 10_000 });
    const errors = ids.map((id) => {
      const e = ended.get(id);
      return e?.status === "failed" ? e.error : e?.status;
    });
    expect(errors).toEqual([
      "finished",
      UNPRINTABLE,
      UNPRINTABLE,
      "[object Object]",
      `the result cannot be written as JSON: ${UNPRINTABLE}`,
      UNPRINTABLE,
      "finished",
    ]);
    for (const j of await q.getJobs(ids)) expect(j?.attempts).toBe(1); // none claimed back
    expect(log.events()).not.toContain("read failed, retrying");
    await w.stop();
  });

  test("runTask agrees: the run fails with the value as thrown", async () => {
    const value = Object.create(null);
    const run = await runTask(
      throwing("nullproto", () => value),
      1,
    );
    expect(run).toMatchObject({ ok: false, error: value });
  });
});

describe("a plain object thrown as an error", () => {
  test("the job's error is its message (not [object Object]); its code steers it as an Error's", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    // What some libraries reject with: `{ code, message }`, no Error.
    const tasks = [
      throwing("upstream", () => ({ code: "E_UPSTREAM", message: "upstream said no" })),
      throwing("permanent", () => ({ code: "EPERMANENT", message: "bad input" })),
      throwing("bare", () => ({ status: 500 })),
    ];
    const ids = (
      await q.enqueueMany(tasks.map((t) => ({ task: t.name, payload: null, maxAttempts: 1 })))
    ).map((j) => j.id);
    const late = await q.enqueue(tasks[1]!.name, null, { maxAttempts: 3 });
    const w = await startWorker({ prefix, tasks });
    const { ended } = await q.waitForJobs([...ids, late], { timeoutMs: 10_000 });
    expect(ids.map((id) => ended.get(id)?.error)).toEqual([
      "upstream said no",
      "bad input",
      "[object Object]",
    ]);
    // EPERMANENT by its code: failed for good at its first attempt of three.
    expect(ended.get(late)).toMatchObject({ status: "failed", attempts: 1, error: "bad input" });
    await w.stop();
  });
});

describe("an abort listener (or ctx.onabort) that throws", () => {
  const listens = defineTask({
    name: "listens",
    timeoutMs: 30,
    run: async (_: unknown, ctx: TaskContext) => {
      ctx.addEventListener("abort", () => {
        throw new Error("listener boom");
      });
      ctx.signal.addEventListener("abort", async () => {
        throw new Error("async listener boom");
      });
      ctx.onabort = () => {
        throw new Error("onabort boom");
      };
      return never();
    },
  });

  test("on a worker: the attempt times out as ever, the host is told of nothing", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const w = await startWorker({ prefix, tasks: [listens] });
    const id = await q.enqueue("listens", 1);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)).toMatchObject({ status: "failed", error: "timed out after 30 ms" });
    await w.stop();
  });

  // A task that makes `onabort` its own property, a getter that throws (over a handler set
  // through the runtime's own setter) or a value that cannot be set: the guard threw inside the
  // abort, so the attempt never ended (the job "started" for good, its lease renewed), the
  // deadline ticker threw every tick, and stop() never returned.
  const hidesOnabort = defineTask({
    name: "hides-onabort",
    timeoutMs: 30,
    run: async (payload: string, ctx: TaskContext) => {
      const runtime = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "onabort")!;
      runtime.set!.call(ctx, () => {
        throw new Error("onabort boom");
      });
      const own =
        payload === "getter"
          ? {
              get() {
                throw new Error("onabort getter boom");
              },
            }
          : { value: () => {}, writable: false };
      Object.defineProperty(ctx, "onabort", own);
      return never();
    },
  });

  test("an onabort the task hid behind its own property: the attempt times out as ever", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const w = await startWorker({ prefix, tasks: [hidesOnabort] });
    const ids = [await q.enqueue("hides-onabort", "getter"), await q.enqueue("hides-onabort", "")];
    const { ended } = await q.waitForJobs(ids, { timeoutMs: 10_000 });
    for (const id of ids) {
      expect(ended.get(id)).toMatchObject({ status: "failed", error: "timed out after 30 ms" });
    }
    await w.stop();
  });

  test("in runTask: the run ends with the abort's reason, the host is told of nothing", async () => {
    const stop = new AbortController();
    const task = defineTask({
      name: "aborts",
      run: async (_: unknown, ctx: TaskContext) => {
        ctx.addEventListener("abort", () => {
          throw new Error("listener boom");
        });
        ctx.onabort = () => {
          throw new Error("onabort boom");
        };
        stop.abort(new Error("stopped"));
        return never();
      },
    });
    const run = await runTask(task, 1, { signal: stop.signal });
    expect(run).toMatchObject({ ok: false, error: new Error("stopped") });
    await Bun.sleep(0); // a floating rejection is reported once the microtasks have run
  });

  test("a guarded listener is still itself: removed, added once, handleEvent and `this` as ever", () => {
    const calls: string[] = [];
    const removed = () => calls.push("removed");
    const twice = () => calls.push("twice");
    const object = { handleEvent: () => calls.push("object") };
    const controller = new AbortController();
    const job = { id: "j", task: "t", attempt: 1, maxAttempts: 1, fence: "1", startedAt: 0 };
    const ctx = makeContext(controller.signal, job, { progress: () => {}, log: silentLogger });
    ctx.addEventListener("abort", removed);
    ctx.removeEventListener("abort", removed);
    ctx.addEventListener("abort", twice);
    ctx.addEventListener("abort", twice);
    ctx.addEventListener("abort", object);
    ctx.addEventListener("abort", function (this: unknown) {
      calls.push(this === ctx ? "this" : "not this");
    });
    controller.abort();
    expect(calls).toEqual(["twice", "object", "this"]);
  });
});

describe("a logger that throws", () => {
  test("loses its lines only: jobs end, stop() returns, the host is told of nothing", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 2 });
    let thrown = 0;
    const logger = {
      log: (_level: string, event: string) => {
        thrown++;
        if (event.startsWith("failed")) return Promise.reject(new Error("async logger boom"));
        throw new Error("logger boom");
      },
    };
    const tasks = [
      defineTask({ name: "ok", run: async (p: number) => p }),
      defineTask({
        name: "bad",
        run: async () => {
          throw new Error("task failed");
        },
      }),
    ] as Task[];
    const w = await startWorker({ prefix, tasks, logger: logger as never, concurrency: 2 });
    const ids = [await q.enqueue("ok", 1), await q.enqueue("bad", 1), await q.enqueue("ok", 2)];
    const { ended } = await q.waitForJobs(ids, { timeoutMs: 10_000 });
    expect(ids.map((id) => ended.get(id)?.status)).toEqual(["finished", "failed", "finished"]);
    await w.stop(); // "worker stopped" throws too
    expect(thrown).toBeGreaterThan(5);
    await Bun.sleep(0); // as above
  });
});

describe("a huge error", () => {
  test("is stored and logged clipped to the history's 1,000 characters", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const log = logRecorder();
    const huge = throwing("huge", () => new Error("E".repeat(10_000_000)));
    const w = await startWorker({ prefix, tasks: [huge], logger: log });
    const id = await q.enqueue("huge", 1);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)).toMatchObject({ status: "failed", error: "E".repeat(1000) });
    const job = await q.getJob(id);
    expect(job?.history.map((h) => h.error)).toEqual(["E".repeat(1000)]);
    const line = log.records.find((r) => r.event === "failed");
    expect(line?.fields.error).toBe("E".repeat(1000));
    await w.stop();
  });

  // The history kept 1,000 bytes and cut there even inside a character, while the job's error
  // kept 1,000 UTF-16 characters: a non-ASCII error read back differently in each, the history's
  // ending in a broken character.
  test("a non-ASCII one: the error and the history's keep the same whole characters", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 1 });
    const text = `x${"é".repeat(600)}`; // 1,201 bytes: a cut at 1,000 falls inside an é
    const w = await startWorker({ prefix, tasks: [throwing("accents", () => new Error(text))] });
    const id = await q.enqueue("accents", 1);
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    const kept = `x${"é".repeat(499)}`; // 999 bytes: the whole characters within 1,000
    expect(ended.get(id)).toMatchObject({ status: "failed", error: kept });
    expect((await q.getJob(id))?.history.map((h) => h.error)).toEqual([kept]);
    await w.stop();
  });

  test.each([
    ["short", "boom", "boom"],
    ["at the limit", "x".repeat(1000), "x".repeat(1000)],
    ["one over", "x".repeat(1001), "x".repeat(1000)],
    ["a pair across the cut", `${"x".repeat(999)}😀`, "x".repeat(999)],
    ["a pair that ends at the cut", `${"x".repeat(996)}😀x`, `${"x".repeat(996)}😀`],
    ["a pair that would cross it", `${"x".repeat(998)}😀x`, "x".repeat(998)],
    ["two-byte characters: 1,000 bytes", "é".repeat(600), "é".repeat(500)],
    ["three-byte ones", "€".repeat(400), "€".repeat(333)],
    [
      "a lone surrogate: three bytes, as it is stored",
      `${"x".repeat(997)}\uD800x`,
      `${"x".repeat(997)}\uD800`,
    ],
  ])("clipError: %s", (_, text, clipped) => {
    expect(clipError(text)).toBe(clipped);
    expect(ERROR_MAX_BYTES).toBe(1000);
  });
});

describe("a scheduler's logger that throws", () => {
  test("loses its line only: the pass is told, the loop goes on, stop() returns", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "q" });
    // A queue's schedules key of another type: every pass logs a warning.
    await q.client.sendCommand(["SET", scheduleKeys(prefix).next("q"), "not a zset"]);
    let told = 0;
    let passed = () => {};
    const pass = new Promise<void>((resolve) => (passed = resolve));
    const scheduler = await startScheduler({
      redisUrl: redisUrl(),
      prefix,
      queues: ["q"],
      logger: {
        log: () => {
          told++;
          throw new Error("logger boom");
        },
      },
      onPass: () => passed(),
    });
    await pass;
    await scheduler.stop();
    expect(told).toBeGreaterThan(0);
  });
});
