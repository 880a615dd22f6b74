// Running one attempt of a job: parse the payload, call the task with an AbortSignal that
// fires on timeout (or when the worker gives the job up), and turn what happens into an
// outcome. A task that ignores its signal is not waited for: the attempt ends at the abort.
import { describeError, JobTimeoutError, PermanentError, RetryableError } from "./errors.ts";
import type { JobInfo, Task } from "./types.ts";

export type AttemptResult =
  | { ok: true; result: string }
  | { ok: false; error: string; permanent: boolean; retryAfterMs?: number }
  | { ok: false; givenUp: unknown };

/** Abort reason used when the worker itself gives a job up (lease lost, shutdown). */
export class GivenUp {
  constructor(readonly why: "lease lost" | "shutdown") {}
}

export async function runAttempt(
  task: Task | undefined,
  job: JobInfo,
  payloadJson: string,
  timeoutMs: number,
  controller: AbortController,
): Promise<AttemptResult> {
  if (!task) return failure(new PermanentError(`no task named "${job.task}" on this worker`));
  const limit = task.timeoutMs ?? timeoutMs;
  const timer = setTimeout(() => controller.abort(new JobTimeoutError(limit)), limit);
  const { signal } = controller;
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  try {
    const payload = parsePayload(payloadJson);
    const value = await Promise.race([task.run(payload, signal, job), aborted]);
    return { ok: true, result: serialise(value) };
  } catch (err) {
    if (signal.aborted && signal.reason instanceof GivenUp) return { ok: false, givenUp: err };
    return failure(err);
  } finally {
    clearTimeout(timer);
  }
}

function failure(err: unknown): AttemptResult {
  return {
    ok: false,
    error: describeError(err),
    permanent: err instanceof PermanentError,
    retryAfterMs: err instanceof RetryableError ? err.retryAfterMs : undefined,
  };
}

function parsePayload(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    throw new PermanentError("payload is not valid JSON");
  }
}

function serialise(value: unknown): string {
  try {
    return JSON.stringify(value ?? null) ?? "null";
  } catch (err) {
    throw new PermanentError(`result is not JSON-serialisable: ${describeError(err)}`);
  }
}
