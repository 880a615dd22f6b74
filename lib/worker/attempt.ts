// Running one attempt of a job: parse the payload, call the task with its context (the attempt's
// AbortSignal with the job's facts, progress and logger: lib/worker/context.ts), and turn
// what happens into an outcome, reported once through `done`. The worker ends an attempt
// early with `Attempt.abort` (time limit, lease lost, shutdown): the signal fires and the
// outcome is reported at once; a task that ignores its signal is not waited for.
import {
  clipError,
  describeError,
  HeldError,
  JobTimeoutError,
  PermanentError,
  RetryableError,
} from "../errors.ts";
import { jsonDepthProblem } from "../queue/payload-depth.ts";
import { checkedJson } from "../queue/payload-json.ts";
import type { JobInfo, Task } from "../types.ts";
import { type ContextSinks, guardOnAbort, makeContext } from "./context.ts";

export type AttemptResult =
  | { ok: true; result: string }
  | {
      ok: false;
      error: string;
      permanent: boolean;
      retryAfterMs?: number;
      held?: boolean;
      /** The limit key a HeldError named (undefined: the job's own). */
      heldKey?: string;
    }
  | { ok: false; givenUp: unknown };

/** Abort reason used when the worker itself gives a job up (lease lost, shutdown). */
export class GivenUp {
  constructor(readonly why: "lease lost" | "shutdown") {}
}

/**
 * One attempt in progress. Callbacks rather than a Promise.race against an abort promise: on
 * the hot path that saves a promise, a listener and a timer per job (the worker checks
 * deadlines with one ticker for all its jobs, see lib/worker/running.ts).
 */
export class Attempt {
  readonly controller = new AbortController();
  /** Monotonic ms after which the attempt is aborted with a JobTimeoutError. */
  readonly deadline: number;
  #done: ((r: AttemptResult) => void) | null;

  constructor(
    readonly limitMs: number,
    done: (r: AttemptResult) => void,
  ) {
    this.deadline = performance.now() + limitMs;
    this.#done = done;
  }

  /** Ends the attempt now: fires the task's signal and reports the outcome. */
  abort(reason: unknown): void {
    // A task's abort listener that throws is guarded (lib/worker/context.ts): the runtime would
    // report it as an uncaught exception, not throw it here.
    guardOnAbort(this.controller.signal);
    this.controller.abort(reason);
    this.report(reason instanceof GivenUp ? { ok: false, givenUp: reason } : failure(reason));
  }

  timeOut(): void {
    this.abort(new JobTimeoutError(this.limitMs));
  }

  /** Reports the outcome; only the first report counts. */
  report(r: AttemptResult): void {
    const done = this.#done;
    this.#done = null;
    done?.(r);
  }
}

/** Starts an attempt; its outcome arrives through the Attempt's `done` callback. */
export function runAttempt(
  task: Task | undefined,
  job: JobInfo,
  payloadJson: string,
  attempt: Attempt,
  sinks: ContextSinks,
): void {
  if (!task) {
    // Unreachable: the worker leaves such jobs to one that has the task (lib/worker/set-aside.ts,
    // no attempt spent); kept as a guard, retryable.
    attempt.report(failure(new RetryableError(`no task named "${job.task}" on this worker`)));
    return;
  }
  let running: Promise<unknown>;
  try {
    // Promise.resolve: a task that returns a plain value (not a promise) works too.
    const ctx = makeContext(attempt.controller.signal, job, sinks);
    running = Promise.resolve(task.run(parsePayload(payloadJson), ctx, job));
  } catch (err) {
    attempt.report(failure(err)); // a task that throws before returning its promise
    return;
  }
  running.then(
    (value) => attempt.report(succeeded(value)),
    (err) => attempt.report(failure(err)),
  );
}

/**
 * The attempt's outcome for what its task returned: the result as JSON under the payload's rule
 * (checkedJson), undefined stored as null. A value JSON cannot carry as given (a function, a
 * Symbol, NaN or ±Infinity anywhere in it, a BigInt, a cycle, too deep) fails the attempt for
 * good, naming where: stored, it would read back as null, which is no result the task gave.
 */
function succeeded(value: unknown): AttemptResult {
  // The common no-result task (null or undefined) needs no serialiser.
  if (value == null) return { ok: true, result: "null" };
  try {
    const checked = checkedJson(value, "result");
    if ("json" in checked) return { ok: true, result: checked.json };
    return failure(new PermanentError(checked.problem));
  } catch (err) {
    // A getter or toJSON that throws on a second look: the outcome is still reported.
    return failure(
      new PermanentError(`the result cannot be written as JSON: ${describeError(err)}`),
    );
  }
}

/**
 * The failure `err` makes, its error clipped to what the job's record keeps (the stored error
 * and the log line alike). Never throws: a value whose `code` or class cannot be read (a getter
 * that throws, a Proxy) is a plain retryable failure, so its attempt still ends at once.
 */
function failure(err: unknown): AttemptResult {
  const error = clipError(describeError(err));
  try {
    return { ...classified(err), ok: false, error };
  } catch {
    return { ok: false, error, permanent: false };
  }
}

/** How a failure is handled (permanent, held, when to retry), read off the thrown value. */
function classified(
  err: unknown,
): Omit<Extract<AttemptResult, { permanent: boolean }>, "ok" | "error"> {
  // By class, or by `code` alone: a task module loaded by the compiled executable (`worker
  // --tasks`) has no Courier to import its classes from, so it throws an error with the code.
  const e = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
  const held = err instanceof HeldError || e.code === "EHELD";
  const retryable = held || err instanceof RetryableError || e.code === "ERETRYABLE";
  return {
    permanent: err instanceof PermanentError || e.code === "EPERMANENT",
    retryAfterMs: retryable && typeof e.retryAfterMs === "number" ? e.retryAfterMs : undefined,
    ...(held ? { held } : {}),
    ...(held && typeof e.key === "string" ? { heldKey: e.key } : {}),
  };
}

function parsePayload(json: string): unknown {
  // Too deep (an entry written by hand: no enqueue takes one) fails at once: JSON.parse reads
  // it, but the task's result, or any printing of it, took JSON.stringify 5 s to refuse.
  const deep = jsonDepthProblem(json);
  if (deep !== undefined) throw new PermanentError(deep);
  try {
    return JSON.parse(json);
  } catch {
    throw new PermanentError("payload is not valid JSON");
  }
}
