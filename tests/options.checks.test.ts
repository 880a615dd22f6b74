// The library's options checked at the call (R107): every refusal one ConfigError line naming
// the option, the value shown with its control characters escaped. Pure checks, by tables.
import { describe, expect, test } from "bun:test";
import { ConfigError, InputError } from "../lib/errors.ts";
import { checkKeys } from "../lib/option-keys.ts";
import { checkWindowS, resolveOptions } from "../lib/options.ts";
import { checkSpec } from "../lib/schedule/spec.ts";
import { checkTask, checkTasks, checkTimeoutMs } from "../lib/task-check.ts";
import { defineTask } from "../lib/types.ts";
import { queueList, queueNames } from "../lib/worker/order.ts";
import { checkWorkerConfig } from "../lib/worker/worker-config.ts";

const run = async () => 1;
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Asserts `f` throws `type` with `message` in it and no raw control character. */
function refuses(f: () => unknown, message: string, type: typeof ConfigError = ConfigError) {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(type);
  const text = (caught as Error).message;
  expect(text).toContain(message);
  expect(RAW_CONTROL.test(text)).toBe(false);
}

describe("resolveOptions: keys and kinds", () => {
  test.each([
    [{ concurency: 2 }, "unknown option concurency (did you mean concurrency?)"],
    [{ maxAtempts: 1 }, "unknown option maxAtempts (did you mean maxAttempts?)"],
    [{ claimIdle: 1 }, "unknown option claimIdle (did you mean claimIdleMs?)"],
    [{ claimIdl: 1 }, "unknown option claimIdl (did you mean claimIdleMs?)"],
    [{ zzzzzz: 1 }, "unknown option zzzzzz"],
    [{ "a\u001b[2J": 1 }, "unknown option a\\x1b[2J"],
    [{ connectTimeoutMs: 5 }, "connectTimeoutMs is not an option"],
    [{ queue: null }, "queue must be a string, got null"],
    [{ queue: 123 }, "queue must be a string, got 123"],
    [{ prefix: null }, "prefix must be a string, got null"],
    [{ redisUrl: 42 }, "redisUrl must be a string, got 42"],
    [{ healthHost: 1 }, "healthHost must be a string, got 1"],
    [{ name: 42 }, "name must be a string, got 42"],
    [{ name: "billing worker" }, "worker name must be 1-200 printable ASCII"],
    [{ name: "émile" }, "worker name must be 1-200 printable ASCII"],
    [{ name: "a\nb" }, 'got "a\\nb"'],
    [{ name: "n".repeat(201) }, "worker name must be 1-200 printable ASCII"],
    [{ now: "x" }, 'now must be a function, got "x"'],
    [{ random: 0.5 }, "random must be a function, got 0.5"],
    [{ burst: "no" }, 'burst must be true or false, got "no"'],
    [{ maxAttempts: "3" }, 'maxAttempts must be a whole number from 1 to 1000000, got "3"'],
    [{ concurrency: "2\u001b" }, 'got "2\\x1b"'],
  ])("refuses %j", (given, message) => {
    refuses(() => resolveOptions(given as never), message);
  });

  test("an entry point's own keys are taken; undefined is no value", () => {
    expect(resolveOptions({ tasks: [] } as never, ["tasks"]).queue).toBe("default");
    expect(resolveOptions({ queue: undefined, name: "x{y}*" }).name).toBe("x{y}*");
    expect(resolveOptions({ name: "n".repeat(200) }).name).toHaveLength(200);
  });

  test.each([null, 5, "x", [1]])("options that are no object (%j) are refused", (given) => {
    refuses(() => resolveOptions(given as never), "options must be an object");
    refuses(() => checkKeys(given, []), "options must be an object");
  });

  test.each([
    [{ retryConnectS: Number.NaN }, "retryConnectS", "got NaN"],
    [{ retryConnectS: Number.POSITIVE_INFINITY }, "retryConnectS", "got Infinity"],
    [{ waitForMemoryS: -1 }, "waitForMemoryS", "got -1"],
    [{ waitForMemoryS: "5" }, "waitForMemoryS", 'got "5"'],
    [{ waitForMemoryS: 1_000_001 }, "waitForMemoryS", "from 0 to 1000000"],
  ])("a retry window %j is refused", (given, key, message) => {
    refuses(() => checkWindowS(given, key), message);
  });

  test("a retry window of 0, a fraction or the limit is taken", () => {
    for (const v of [0, 0.5, 1_000_000, undefined])
      checkWindowS({ retryConnectS: v }, "retryConnectS");
  });
});

describe("task definitions", () => {
  test.each([
    [null, "a task must be an object { name, run }, got null"],
    [{ run }, "a task's name must be a non-empty string, got undefined"],
    [{ name: "", run }, `a task's name must be a non-empty string, got ""`],
    [{ name: 5, run }, "a task's name must be a non-empty string, got 5"],
    [{ name: "x" }, 'task "x" has no run function'],
    [{ name: "x\u001b", run: 1 }, 'task "x\\x1b" has no run function'],
    [{ name: "x", run, validate: 1 }, 'task "x": validate must be a function'],
    [{ name: "x", run, limitKey: "host" }, 'task "x": limitKey must be a function'],
    [
      { name: "x", run, timeoutMs: Number.NaN },
      'task "x": timeoutMs must be a whole number of ms from 1 to 1000000000, or Infinity (no limit), got NaN',
    ],
    [{ name: "x", run, timeoutMs: -5 }, "got -5"],
    [{ name: "x", run, timeoutMs: 0 }, "got 0"],
    [{ name: "x", run, timeoutMs: 1.5 }, "got 1.5"],
    [{ name: "x", run, timeoutMs: 1e12 }, "got 1000000000000"],
    [{ name: "x", run, timeoutMs: "200" }, 'got "200"'],
    // A key spelling a task's key another way was dropped unsaid: 180 s, not the 5 s meant.
    [{ name: "x", run, timeoutMS: 5000 }, 'task "x" has timeoutMS: did you mean timeoutMs?'],
    [{ name: "x", run, timeout: 5000 }, 'task "x" has timeout: did you mean timeoutMs?'],
    [{ name: "x", run, limit_key: () => "k" }, 'task "x" has limit_key: did you mean limitKey?'],
    // A job's or a worker's key on a task was dropped unsaid: a task meant to be tried once
    // was tried three times.
    [
      { name: "x", run, maxAttempts: 1 },
      `task "x" has maxAttempts, which a task does not take: it is a job's: enqueue's options (or Queue.connect's default for its jobs)`,
    ],
    [{ name: "x", run, max_attempts: 1 }, 'task "x" has max_attempts, which a task does not take'],
    [
      { name: "x", run, priority: "high" },
      "has priority, which a task does not take: it is a job's",
    ],
    [{ name: "x", run, delay: 5000 }, "has delay, which a task does not take: it is a job's"],
    [
      { name: "x", run, concurrency: 2 },
      "has concurrency, which a task does not take: it is a worker's",
    ],
    [{ name: "x", run, jobTimeoutMs: 5 }, "(a task's own limit is timeoutMs)"],
  ])("checkTask refuses %j", (task, message) => {
    refuses(() => checkTask(task), message);
    refuses(() => defineTask(task as never), message);
  });

  test("a task may carry keys of its own (a description, a helper)", () => {
    checkTask({ name: "x", run, description: "resizes", retries: 2, _id: 1 });
  });

  test("a task with a limit from 1 ms to INTERVAL_LIMIT_MS is taken", () => {
    for (const timeoutMs of [1, 1_000_000_000, undefined, Number.POSITIVE_INFINITY])
      checkTask({ name: "x", run, timeoutMs });
    checkTimeoutMs(undefined, "t");
  });

  test.each([
    [undefined, "tasks must be an array of tasks, got undefined"],
    [{ name: "x", run }, "tasks must be an array of tasks, got an object"],
    [[null], "a task must be an object"],
    [
      [
        { name: "d", run },
        { name: "d", run },
      ],
      'tasks holds two tasks named "d"',
    ],
  ])("checkTasks refuses %j", (tasks, message) => {
    refuses(() => checkTasks(tasks), message);
  });

  test("an empty list is taken (a worker that only keeps a queue's upkeep)", () => {
    checkTasks([]);
  });
});

describe("a Worker's own options", () => {
  test.each([
    [{ logger: {} }, "logger must be an object with a log function, got an object"],
    [{ logger: null }, "logger must be an object with a log function, got null"],
    [{ onLevels: 1 }, "onLevels must be a function, got 1"],
    [{ schedules: "false" }, 'schedules must be true or false, got "false"'],
    [{ tasks: undefined }, "tasks must be an array of tasks, got undefined"],
  ])("refuses %j", (given, message) => {
    refuses(() => checkWorkerConfig({ tasks: [], ...given } as never), message);
  });

  test("takes a logger, onLevels and schedules of the right kinds", () => {
    const logger = { log: () => {} };
    checkWorkerConfig({ tasks: [], logger, onLevels: () => {}, schedules: false } as never);
  });
});

describe("queue lists", () => {
  test.each([
    [["ok", "x\u001b[2Jy"], undefined, 'queue name "x\\x1b[2Jy" must be'],
    [["a", 5], undefined, "queue name 5 must be"],
    ["sq", undefined, 'queues must be an array of queue names, got "sq"'],
    [undefined, null, "queue must be a string, got null"],
    [undefined, 123, "queue must be a string, got 123"],
    [undefined, "ok,x\u001b[2Jy", 'queue name "x\\x1b[2Jy" must be'],
    [["a\u001b", "a\u001b"], undefined, "queue name"],
  ])("queues %j, queue %j refused", (queues, queue, message) => {
    refuses(() => queueList(queue, queues), message);
  });

  test("a queue named twice is refused; a list of names is taken", () => {
    refuses(() => queueList("a,b,a"), 'queue list "a,b,a" names a queue twice');
    expect(queueNames(["a", "b"])).toEqual(["a", "b"]);
  });
});

describe("schedule specs", () => {
  const spec = { name: "n", every: "5m", task: "t" };
  test.each([
    [{ ...spec, queue: 123 }, "123 is no queue name"],
    [{ ...spec, queue: null }, "null is no queue name"],
    [{ ...spec, queue: "q\u001b[2J" }, '"q\\x1b[2J" is no queue name'],
    [{ ...spec, name: "n\u001b[2J" }, 'got "n\\x1b[2J"'],
    [{ ...spec, missed: "x\u001b" }, 'missed must be once or skip, got "x\\x1b"'],
    [{ ...spec, every: "5\u001bm" }, "not a duration"],
    [{ ...spec, every: { m: 5 } }, "every must be from 1s to 366d, got an object"],
    [{ ...spec, every: 1500 }, "every must be whole seconds, got 1500"],
    [{ name: "n", task: "t", cron: "\u001b[2J * * * *" }, 'cron "\\x1b[2J * * * *" is not'],
    [{ name: "n", task: "t", cron: "* * *\u001b" }, 'cron "* * *\\x1b" is not'],
    [{ name: "n", task: "t", cron: 5 }, "cron must be a cron expression (a string), got 5"],
    [{ name: "n", task: "t", cron: "* * * * *", tz: 5 }, "tz must be a time zone name, got 5"],
    [{ name: "n", task: "t", cron: "* * * * *", tz: "Mars\u001b" }, 'tz "Mars\\x1b" is not'],
    // Dropped unsaid before: `timezone` ran the cron in UTC, `replace` in the spec replaced nothing.
    [
      { name: "n", task: "t", cron: "30 2 * * *", timezone: "Europe/Paris" },
      "a schedule has no timezone: it takes name, queue, every, cron, tz, task, payload, missed",
    ],
    [{ ...spec, replace: true }, "(replace goes in add's options: add(spec, { replace: true }))"],
  ])("checkSpec refuses %j", (s, message) => {
    refuses(() => checkSpec(s as never, "default"), message, InputError);
  });
});
