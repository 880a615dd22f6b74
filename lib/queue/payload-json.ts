// A payload as it is stored: its JSON text, checked. What is checked is what JSON.stringify
// produced (a toJSON may return anything: a 5,000-deep array, NaN), and what it cannot produce
// (a BigInt, a cycle, a function, a Symbol, a toJSON or getter that throws) is an InputError in
// one line, not a TypeError from within. One rule for a job's payload and a schedule's, and
// for what a task returns (its result: a PermanentError there, lib/worker/attempt.ts).

import { describeError, InputError } from "../errors.ts";
import { jsonDepthProblem, tooDeep } from "./payload-depth.ts";
import { nonFiniteProblem } from "./payload-numbers.ts";

/** What a checked JSON value is, named in its messages and paths: a job's payload or a task's result. */
export type JsonWhat = "payload" | "result";

/** `payload` (undefined: null) as JSON text; InputError when JSON cannot carry it as given. */
export function payloadJson(payload: unknown): string {
  const checked = checkedJson(payload ?? null, "payload");
  if ("json" in checked) return checked.json;
  throw new InputError(checked.problem, { cause: checked.cause });
}

/**
 * `value` as JSON text, or why JSON cannot carry it as given: the one rule for a payload and
 * for a task's result (lib/worker/attempt.ts), each named as `what`.
 */
export function checkedJson(
  value: unknown,
  what: JsonWhat,
): { json: string } | { problem: string; cause?: unknown } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    return { problem: unserialisable(err, what), cause: err };
  }
  if (json === undefined) {
    return {
      problem: `the ${what} is no JSON value: a function, a Symbol, or a toJSON that returns undefined`,
    };
  }
  const problem = jsonDepthProblem(json, what) ?? nonFiniteProblem(value, json, what);
  return problem ? { problem } : { json };
}

/** Why JSON.stringify threw, in one line. */
function unserialisable(err: unknown, what: JsonWhat): string {
  // Too deep for the stack (RangeError), or an object that contains itself: one refusal.
  const message = describeError(err); // never throws (a toJSON may throw a hostile Proxy)
  if (/call stack|cyclic|circular/i.test(message)) {
    return tooDeep(what);
  }
  return `the ${what} cannot be written as JSON: ${message.slice(0, 200)}`;
}
