// A payload as it is stored: its JSON text, checked. What is checked is what JSON.stringify
// produced (a toJSON may return anything: a 5,000-deep array, NaN), and what it cannot produce
// (a BigInt, a cycle, a function, a Symbol, a toJSON or getter that throws) is an InputError in
// one line, not a TypeError from within. One rule for a job's payload and a schedule's.

import { InputError } from "../errors.ts";
import { jsonDepthProblem, TOO_DEEP } from "./payload-depth.ts";
import { nonFiniteProblem } from "./payload-numbers.ts";

/** `payload` (undefined: null) as JSON text; InputError when JSON cannot carry it as given. */
export function payloadJson(payload: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload ?? null);
  } catch (err) {
    throw new InputError(unserialisable(err), { cause: err });
  }
  if (json === undefined) {
    throw new InputError(
      "the payload is no JSON value: a function, a Symbol, or a toJSON that returns undefined",
    );
  }
  const problem = jsonDepthProblem(json) ?? nonFiniteProblem(payload, json);
  if (problem) throw new InputError(problem);
  return json;
}

/** Why JSON.stringify threw, in one line. */
function unserialisable(err: unknown): string {
  // Too deep for the stack (RangeError), or an object that contains itself: one refusal.
  const message = String((err as Error)?.message);
  if (/call stack|cyclic|circular/i.test(message)) {
    return TOO_DEEP;
  }
  return `the payload cannot be written as JSON: ${message.slice(0, 200)}`;
}
