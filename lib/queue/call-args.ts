// The Queue's (and Admin's) calls check the shape of what they are given before anything is
// sent: a string where an id list goes would be read as its characters ("abc" cancels "a", "b"
// and "c"), a missing options object or a timeout that is no number would throw a TypeError
// from deep inside, or wait for ever (NaN never passes a deadline).

import { INTERVAL_LIMIT_MS } from "../config.ts";
import { isValidJobId } from "../engine/record.ts";
import { InputError } from "../errors.ts";
import { keysOf, kind, kindOf, respelt, unknownKeyProblem } from "../option-keys.ts";
import { shownInput } from "../safe-text.ts";
import type { BatchOptions } from "./batch.ts";
import type { EnqueueStreamOptions } from "./bulk.ts";
import { MAX_PARENTS } from "./depends.ts";
import type { EventsOptions } from "./events.ts";
import type { JobSpec } from "./prepare.ts";
import type { WaitOptions } from "./wait.ts";

/** A job spec's keys (lib/queue/prepare.ts JobSpec). */
export const SPEC_KEYS = keysOf<JobSpec>()([
  "task",
  "payload",
  "id",
  "maxAttempts",
  "delayMs",
  "runAt",
  "priority",
  "dependsOn",
  "onParentFailure",
  "limitKey",
]);
/** Queue.enqueue's options: a spec's keys but the two it takes as arguments. */
export const ENQUEUE_OPTION_KEYS = SPEC_KEYS.filter((k) => k !== "task" && k !== "payload");
export const WAIT_KEYS = keysOf<WaitOptions>()([
  "timeoutMs",
  "onProgress",
  "onJobProgress",
  "recheckMs",
  "onError",
  "blockMs",
  "keepRecords",
  "signal",
]);

/** Bulk enqueue's options (enqueueMany, enqueueStream, enqueueBatches). */
export const STREAM_OPTION_KEYS = keysOf<EnqueueStreamOptions>()(["inFlight", "lingerMs"]);
export const BATCH_OPTION_KEYS = keysOf<BatchOptions>()([
  "then",
  "inFlight",
  "lingerMs",
  "enqueued",
]);
export const EVENTS_OPTION_KEYS = keysOf<EventsOptions>()(["from", "blockMs", "onError"]);

/**
 * A call's options: absent, or an object whose every key the call takes (InputError naming the
 * call and the key, and the key meant when it is a likely misspelling: `delayMS`, `timeout`).
 */
export function checkCallOptions(options: unknown, call: string, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InputError(`${call}: options must be an object, got ${kindOf(options)}`);
  }
  const problem = unknownKeyProblem(options, allowed);
  if (problem !== undefined) throw new InputError(`${call}: ${problem}`);
}

/** Keys a spec has that are not a spec's, each with what it was taken for (null: the caller's own). */
const respelling = new Map<string, string | null>();
/** Distinct foreign keys remembered at most (a spec per row of a table may carry its own). */
const RESPELLING_KEPT = 1_000;

/**
 * Refuses a job spec key that spells a spec's key another way (`delayMS`, `max_attempts`,
 * `delay`): a job would otherwise run at once, or with the default attempts, without a word.
 * Other keys are the caller's own and travel with the spec (enqueueStream yields specs as given).
 */
function checkSpecKeys(spec: object): void {
  for (const key in spec) {
    if (SPEC_SET.has(key)) continue;
    let meant = respelling.get(key);
    if (meant === undefined) {
      meant = respelt(key, SPEC_KEYS) ?? null;
      if (respelling.size < RESPELLING_KEPT) respelling.set(key, meant);
    }
    if (meant !== null) {
      throw new InputError(`a job spec has ${shownInput(key)}: did you mean ${meant}?`);
    }
  }
}
const SPEC_SET = new Set(SPEC_KEYS);

/** `ids` when it is an array of strings; InputError naming `call` otherwise. */
export function checkIds(ids: unknown, call: string): readonly string[] {
  if (!Array.isArray(ids)) {
    throw new InputError(`${call} takes an array of job ids, got ${kindOf(ids)}`);
  }
  for (const id of ids) {
    if (typeof id !== "string") {
      throw new InputError(`${call}: each job id must be a string, got ${kindOf(id)}`);
    }
  }
  return ids;
}

/** A source of job specs: any (async) iterable object; InputError naming `call` otherwise. */
export function checkSource(specs: unknown, call: string): void {
  const o = specs as object;
  if (typeof o === "object" && o !== null && (Symbol.asyncIterator in o || Symbol.iterator in o))
    return;
  throw new InputError(
    `${call} takes an iterable of job specs (an array, a generator, a stream), got ${kindOf(specs)}`,
  );
}

/** enqueueBatch's arguments: a source, and options with the callback's spec (`then`). */
export function checkBatchCall(specs: unknown, options: unknown): void {
  checkSource(specs, "enqueueBatch");
  checkObject(options, "enqueueBatch", BATCH_OPTION_KEYS);
  const then = (options as { then?: unknown }).then;
  if (typeof then !== "object" || then === null || Array.isArray(then)) {
    throw new InputError(
      `enqueueBatch needs { then }: the callback's job spec, got ${kindOf(then)}`,
    );
  }
  // Not checked against Redis (they were acknowledged): each must still be a job id.
  const enqueued = (options as { enqueued?: unknown }).enqueued;
  if (enqueued === undefined) return;
  // Repeats count once, as in dependsOn (`trigger --id-from-url` given a URL twice).
  if (!Array.isArray(enqueued) || new Set(enqueued).size > MAX_PARENTS) {
    throw new InputError(
      `enqueueBatch's enqueued must be an array of at most ${MAX_PARENTS} job ids, got ${kindOf(enqueued)}`,
    );
  }
  // By index: a hole or an undefined is found too (find() answered it as "none"), and any
  // value is shown as `kind` shows it (JSON.stringify of a function is no text).
  const at = enqueued.findIndex((id) => typeof id !== "string" || !isValidJobId(id));
  if (at >= 0) {
    throw new InputError(`enqueueBatch's enqueued: ${kind(enqueued[at])} is not a job id`);
  }
  // Unchecked, the callback's own id made it its own parent: waiting for itself, for ever.
  const own = (then as { id?: unknown }).id;
  if (typeof own === "string" && enqueued.includes(own)) {
    throw new InputError(
      `enqueueBatch's enqueued names the callback's own id ${own}: it would wait for itself`,
    );
  }
}

/** `specs` when it is an array of objects (enqueueMany); InputError otherwise. */
export function checkSpecList<S>(specs: unknown): readonly S[] {
  if (!Array.isArray(specs)) {
    throw new InputError(`enqueueMany takes an array of job specs, got ${kindOf(specs)}`);
  }
  for (const spec of specs) checkSpec(spec);
  return specs;
}

/** A job spec is an object (`{ task, payload, … }`); InputError otherwise. */
export function checkSpec(spec: unknown): void {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new InputError(`a job spec must be an object { task, payload, … }, got ${kindOf(spec)}`);
  }
  checkSpecKeys(spec);
}

/**
 * waitForJobs' options: an object whose timeoutMs is a number (Infinity: no limit), and whose
 * other options, when given, are of their kind (a `keepRecords: "no"` would read as true, a
 * `signal: "x"` throw a TypeError from deep inside).
 */
export function checkWaitOptions(options: unknown): WaitOptions {
  if (typeof options !== "object" || options === null) {
    throw new InputError(`waitForJobs needs options { timeoutMs }, got ${kindOf(options)}`);
  }
  checkCallOptions(options, "waitForJobs", WAIT_KEYS);
  const o = options as { [key in keyof WaitOptions]?: unknown };
  const t = o.timeoutMs;
  // NaN: a deadline that never passes, so the wait would never time out.
  if (typeof t !== "number" || Number.isNaN(t)) {
    throw new InputError(
      `waitForJobs' timeoutMs must be a number of milliseconds, got ${kindOf(t)}`,
    );
  }
  for (const key of ["onProgress", "onJobProgress", "onError"] as const) {
    checkFunction(o[key], `waitForJobs' ${key}`);
  }
  if (o.recheckMs !== undefined)
    checkCount(o.recheckMs, "waitForJobs' recheckMs", 0, INTERVAL_LIMIT_MS);
  if (o.blockMs !== undefined) checkCount(o.blockMs, "waitForJobs' blockMs", 1, INTERVAL_LIMIT_MS);
  checkBoolean(o.keepRecords, "waitForJobs' keepRecords");
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InputError(`waitForJobs' signal must be an AbortSignal, got ${kindOf(o.signal)}`);
  }
  return options as WaitOptions;
}

/** events' options: known keys, `from` a string (a cursor is parsed later), of their kind. */
export function checkEventsOptions(options: unknown): void {
  checkCallOptions(options, "events", EVENTS_OPTION_KEYS);
  const o = (options ?? {}) as { [key in keyof EventsOptions]?: unknown };
  if (o.from !== undefined && typeof o.from !== "string") {
    throw new InputError(
      `events' from must be "now", "start" or a cursor an event carried, got ${kindOf(o.from)}`,
    );
  }
  if (o.blockMs !== undefined) checkCount(o.blockMs, "events' blockMs", 1, INTERVAL_LIMIT_MS);
  checkFunction(o.onError, "events' onError");
}

/** A callback option: absent or a function (InputError naming `what`). */
export function checkFunction(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== "function") {
    throw new InputError(`${what} must be a function, got ${kindOf(value)}`);
  }
}

/** A flag option: absent, true or false (a string would be truthy; InputError naming `what`). */
export function checkBoolean(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new InputError(`${what} must be true or false, got ${kindOf(value)}`);
  }
}

/** A whole number from `min` to `max` (a page's limit: bounded, as Redis' reply is held). */
export function checkCount(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(
      `${what} must be a whole number from ${min} to ${max}, got ${kindOf(value)}`,
    );
  }
  return value;
}

/**
 * An object argument (Admin.setLimits' change, jobs' query) whose every key is in `allowed`;
 * InputError naming `call`.
 */
export function checkObject(value: unknown, call: string, allowed: readonly string[]): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(`${call} takes an object, got ${kindOf(value)}`);
  }
  const problem = unknownKeyProblem(value, allowed);
  if (problem !== undefined) throw new InputError(`${call}: ${problem}`);
}
