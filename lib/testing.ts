// Testing your own tasks (README, "Testing your tasks"): runTask runs a task once, in-process,
// without Redis, the way a worker would: the payload and the result go through JSON, the task
// gets the same context (lib/worker/context.ts), a time limit or an abort ends the run at once
// with its reason as the error. Every progress report and log line is captured, none coalesced.
import { MAX_ATTEMPTS_LIMIT } from "./config.ts";
import { ConfigError, describeError, JobTimeoutError, PermanentError } from "./errors.ts";
import { fenceOf, isFence } from "./fence/fence.ts";
import type { LogLevel } from "./log.ts";
import { checkKeys, kind } from "./option-keys.ts";
import { checkedJson, payloadJson } from "./queue/payload-json.ts";
import { checkTask, checkTimeoutMs, synchronous } from "./task-check.ts";
import type { ParentOutcome, ProgressValue, Task } from "./types.ts";
import { guardOnAbort, makeContext } from "./worker/context.ts";

export interface RunTaskOptions {
  /** The job id the task sees (default `test-1`). */
  id?: string;
  /** The attempt number the task sees (default 1), e.g. to test a retry's behaviour. */
  attempt?: number;
  /** Attempts the job has (default `attempt`, or 1): `attempt === maxAttempts` is the last. */
  maxAttempts?: number;
  /**
   * The run's fence the task sees (`ctx.fence`; default the attempt number, e.g. "1", so a
   * later attempt has a higher one, as on a worker): a fence (`isFence`), else a TypeError.
   */
  fence?: string;
  /** Aborting it aborts the run (the task's signal fires, the run ends with its reason). */
  signal?: AbortSignal;
  /** Run-time limit (ms): past it the run ends with a JobTimeoutError (default task.timeoutMs). */
  timeoutMs?: number;
  /**
   * What `ctx.parents()` yields (default none): the outcomes of the jobs this one waited for,
   * e.g. a batch's children for its callback. Given as a list or any (async) iterable.
   */
  parents?: Iterable<ParentOutcome> | AsyncIterable<ParentOutcome>;
}

export interface TaskLogLine {
  level: LogLevel;
  event: string;
  /** The task's fields, with `job` and `task` bound as a worker's logger has them. */
  fields: Record<string, unknown>;
}

/** What one run gave: the result (as a worker stores it: through JSON) or the error. */
export type TaskRun = ({ ok: true; result: unknown } | { ok: false; error: unknown }) & {
  /** Every value the task reported, in order (a worker writes fewer: it coalesces them). */
  progress: ProgressValue[];
  logs: TaskLogLine[];
};

const RUN_TASK_KEYS: readonly (keyof RunTaskOptions)[] = [
  "id",
  "attempt",
  "maxAttempts",
  "fence",
  "signal",
  "timeoutMs",
  "parents",
];

/** Runs `task` once on `payload` (checked by its `validate`, as an enqueue would). */
export async function runTask<P, R>(
  task: Task<P, R>,
  payload: unknown,
  options: RunTaskOptions = {},
): Promise<TaskRun> {
  checkKeys(options, RUN_TASK_KEYS);
  checkRunOptions(options);
  checkTask(task);
  // One rule with the worker's: a limit the worker would refuse is refused here too.
  checkTimeoutMs(options.timeoutMs, "runTask's timeoutMs");
  const progress: ProgressValue[] = [];
  const logs: TaskLogLine[] = [];
  const attempt = options.attempt ?? 1;
  const fence = options.fence ?? fenceOf("0-0", attempt);
  if (!isFence(fence)) {
    throw new TypeError(`runTask: not a fence: ${JSON.stringify(String(fence).slice(0, 80))}`);
  }
  const job = {
    id: options.id ?? "test-1",
    task: task.name,
    attempt,
    maxAttempts: options.maxAttempts ?? attempt,
    fence,
    startedAt: performance.timeOrigin + performance.now(),
  };
  const controller = new AbortController();
  const ctx = makeContext(controller.signal, job, {
    progress: (value) => progress.push(structuredClone(value)),
    log: { log: (level, event, fields = {}) => logs.push({ level, event, fields }) },
    parents: () => givenParents(options.parents ?? []),
  });
  const outcome = await settle(controller, options, task.timeoutMs, async () => {
    const checked = task.validate
      ? synchronous(task.validate(payload), task.name, "validate")
      : payload;
    // The enqueue's rule: a payload no enqueue takes (NaN, a BigInt, a function) is its InputError.
    const value = await task.run(JSON.parse(payloadJson(checked)), ctx, job);
    return toJson(value);
  });
  return { ...outcome, progress, logs };
}

/**
 * The options' kinds, as a worker's values are (one ConfigError line naming the option): taken
 * as given, `id: 5` or `attempt: 0` made a run no worker makes, and `signal: "x"` failed inside.
 */
function checkRunOptions(o: RunTaskOptions): void {
  const refuse = (what: string, v: unknown) => new ConfigError(`runTask's ${what}, got ${kind(v)}`);
  if (o.id !== undefined && (typeof o.id !== "string" || o.id === "")) {
    throw refuse("id must be a non-empty string", o.id);
  }
  for (const key of ["attempt", "maxAttempts"] as const) {
    const n = o[key];
    if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= MAX_ATTEMPTS_LIMIT)) {
      throw refuse(`${key} must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}`, n);
    }
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw refuse("signal must be an AbortSignal", o.signal);
  }
  const p = o.parents as unknown;
  const iterable =
    typeof p === "object" && p !== null && (Symbol.iterator in p || Symbol.asyncIterator in p);
  if (p !== undefined && !iterable) {
    throw refuse("parents must be a list or an (async) iterable of outcomes", p);
  }
}

/** The given parents, each a copy through JSON (as read from Redis), in order. */
async function* givenParents(
  list: Iterable<ParentOutcome> | AsyncIterable<ParentOutcome>,
): AsyncGenerator<ParentOutcome> {
  for await (const p of list) yield JSON.parse(JSON.stringify(p)) as ParentOutcome;
}

type Settled = { ok: true; result: unknown } | { ok: false; error: unknown };

/** The run's outcome, or the abort's reason as soon as the signal or the time limit fires. */
function settle(
  controller: AbortController,
  options: RunTaskOptions,
  taskLimitMs: number | undefined,
  run: () => Promise<unknown>,
): Promise<Settled> {
  return new Promise((resolve) => {
    const limitMs = options.timeoutMs ?? taskLimitMs;
    const end = (r: Settled) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    const abort = (reason: unknown) => {
      guardOnAbort(controller.signal);
      controller.abort(reason);
      end({ ok: false, error: reason });
    };
    const onAbort = () => abort(options.signal?.reason);
    // Infinity: no limit (a timer of Infinity ms would fire at once).
    const timer =
      limitMs === undefined || limitMs === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => abort(new JobTimeoutError(limitMs)), limitMs);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    run().then(
      (result) => end({ ok: true, result }),
      (error) => end({ ok: false, error }),
    );
  });
}

/** The result as a worker stores and `result` reads it; a PermanentError when it cannot be. */
function toJson(value: unknown): unknown {
  if (value == null) return null;
  let checked: ReturnType<typeof checkedJson>;
  try {
    checked = checkedJson(value, "result");
  } catch (err) {
    throw new PermanentError(`the result cannot be written as JSON: ${describeError(err)}`);
  }
  if ("problem" in checked) throw new PermanentError(checked.problem);
  return JSON.parse(checked.json);
}
