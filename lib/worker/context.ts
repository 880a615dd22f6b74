// A task's context (TaskContext, lib/types.ts): the attempt's AbortSignal itself with the job's
// facts, progress and logger added, so a task written as `(payload, signal)` gets the very
// signal it always got. Shared by the worker (lib/worker/attempt.ts) and runTask
// (lib/testing.ts), so a task sees the same object, and the same TypeErrors, in both.
import { callQuietly } from "../errors.ts";
import { type Logger, writableFields } from "../log.ts";
import type { JobInfo, ParentOutcome, ProgressValue, TaskContext } from "../types.ts";

/** Largest progress value, as UTF-8 JSON: it is written to Redis and shown on every poll. */
export const PROGRESS_MAX_BYTES = 1024;

const UTF8 = new TextEncoder();

/**
 * The JSON of a progress value, or a TypeError saying what is wrong with it: a finite number
 * from 0 to 100, or a plain object (not an array, not null) of at most PROGRESS_MAX_BYTES.
 */
export function progressJson(value: ProgressValue): string {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0 && value <= 100) return JSON.stringify(value);
    throw new TypeError(`progress must be a number from 0 to 100, got ${value}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    throw new TypeError(`progress must be a number from 0 to 100 or a JSON object, got ${kind}`);
  }
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`progress is not JSON-serialisable: ${(err as Error).message}`);
  }
  const bytes = UTF8.encode(json).length;
  if (bytes > PROGRESS_MAX_BYTES) {
    throw new TypeError(`progress is ${bytes} bytes of JSON, more than ${PROGRESS_MAX_BYTES}`);
  }
  return json;
}

/** Where a context's progress and log lines go. */
export interface ContextSinks {
  /** A checked progress value and its JSON. */
  progress: (value: ProgressValue, json: string) => void;
  log: Logger;
  /** The job's parents and their outcomes (TaskContext.parents()); absent: none. */
  parents?: (id: string) => AsyncIterable<ParentOutcome>;
}

/** A job without parents (or a sink that reads none): nothing. */
async function* noParents(): AsyncGenerator<ParentOutcome> {}

/**
 * Turns `signal` into the task's context for `job` (the same object, with more properties).
 * Plain assignments, in one order, on every attempt: the engine caches that shape, where
 * Object.defineProperties took the slow path on each (a µs a job on the no-op bench).
 */
export function makeContext(signal: AbortSignal, job: JobInfo, sinks: ContextSinks): TaskContext {
  const { id, task, attempt, maxAttempts, fence } = job;
  const ctx = signal as AbortSignal & Record<keyof TaskContext, unknown>;
  ctx.signal = signal;
  ctx.id = id;
  ctx.task = task;
  ctx.attempt = attempt;
  ctx.maxAttempts = maxAttempts;
  ctx.fence = fence;
  ctx.progress = (value: ProgressValue) => sinks.progress(value, progressJson(value));
  ctx.log = (level: Parameters<Logger["log"]>[0], event: string, fields = {}) => {
    let bound: Record<string, unknown>;
    try {
      bound = { ...fields, job: id, task };
    } catch {
      // A getter that throws is its field's "not written", not the task's failure.
      bound = { ...writableFields(fields), job: id, task };
    }
    sinks.log.log(level, event, bound);
  };
  const parents = sinks.parents;
  ctx.parents = parents ? () => parents(id) : noParents;
  ctx.addEventListener = addGuarded;
  ctx.removeEventListener = removeGuarded;
  return ctx as unknown as TaskContext;
}

// A task's abort listeners, guarded. A listener that throws (or an async one that rejects) is
// not thrown to whoever aborts: the runtime reports it as an uncaught exception, which ends the
// host process. The attempt ends with the abort's reason all the same, so such an error has
// nowhere to go and is dropped. Each listener has one guard (a WeakMap), so adding it twice
// still adds it once, and removing it removes its guard.
type Listener = EventListenerOrEventListenerObject;
const guards = new WeakMap<object, EventListener>();
const add = AbortSignal.prototype.addEventListener;
const remove = AbortSignal.prototype.removeEventListener;
const onabort = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "onabort") as {
  get: (this: AbortSignal) => unknown;
  set: (this: AbortSignal, handler: unknown) => void;
};

function guardOf(listener: Listener): EventListener {
  let guard = guards.get(listener);
  if (!guard) {
    guard = function (this: unknown, event: Event) {
      callQuietly(() =>
        typeof listener === "function" ? listener.call(this, event) : listener.handleEvent(event),
      );
    };
    guards.set(listener, guard);
  }
  return guard;
}

/**
 * Guards a handler the task set as `ctx.onabort` (an accessor of the runtime's, so it is
 * guarded when the signal is about to fire, not on every context). Call before aborting.
 * Read and set through the runtime's own accessor, never the property: a task may hide it
 * behind one of its own (a getter that throws, a value that cannot be set), and a throw here
 * would leave the attempt unended, its job running for good.
 */
export function guardOnAbort(signal: AbortSignal): void {
  const handler = onabort.get.call(signal);
  if (typeof handler === "function") onabort.set.call(signal, guardOf(handler as Listener));
}

function addGuarded(this: AbortSignal, type: string, listener: Listener | null, options?: unknown) {
  const guarded = typeof listener === "function" || (typeof listener === "object" && listener);
  // Anything else goes on as given: the runtime's TypeError, as on any signal.
  add.call(this, type, (guarded ? guardOf(listener) : listener) as Listener, options as undefined);
}

function removeGuarded(
  this: AbortSignal,
  type: string,
  listener: Listener | null,
  options?: unknown,
) {
  const given = (listener !== null && guards.get(listener)) || listener;
  remove.call(this, type, given as Listener, options as undefined);
}
