// The Queue's (and Admin's) calls check the shape of what they are given before anything is
// sent: a string where an id list goes would be read as its characters ("abc" cancels "a", "b"
// and "c"), a missing options object or a timeout that is no number would throw a TypeError
// from deep inside, or wait for ever (NaN never passes a deadline).

import { InputError } from "../errors.ts";
import { shownInput } from "../safe-text.ts";
import type { WaitOptions } from "./wait.ts";

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
}

/** waitForJobs' options: an object whose timeoutMs is a number (Infinity: no limit). */
export function checkWaitOptions(options: unknown): WaitOptions {
  if (typeof options !== "object" || options === null) {
    throw new InputError(`waitForJobs needs options { timeoutMs }, got ${kindOf(options)}`);
  }
  const t = (options as { timeoutMs?: unknown }).timeoutMs;
  // NaN: a deadline that never passes, so the wait would never time out.
  if (typeof t !== "number" || Number.isNaN(t)) {
    throw new InputError(
      `waitForJobs' timeoutMs must be a number of milliseconds, got ${kindOf(t)}`,
    );
  }
  return options as WaitOptions;
}

/** What a value is, for a message: its type, and a short text of a primitive. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") return `the string "${shownInput(value, 40)}"`;
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  if (typeof value === "number") return `the number ${value}`;
  return `a ${typeof value}`;
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

/** An object argument (Admin.setLimits' change, jobs' query); InputError naming `call`. */
export function checkObject(value: unknown, call: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(`${call} takes an object, got ${kindOf(value)}`);
  }
}
