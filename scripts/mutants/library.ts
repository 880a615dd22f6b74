// The mutants of the library's hunt (hunter l): Courier embedded through lib/index.ts, misused
// as a plain-JavaScript caller would (an async validate, a logger's odd fields, …).
import { type Mutant, m } from "./mutant.ts";

const T = (name: string) => `tests/${name}.test.ts`;

// biome-ignore format: a table, one mutant to three lines
export const libraryMutants: Mutant[] = [
  m("validate-promise-taken", "lib/task-check.ts", "a task's validate or limitKey that returns a promise is refused (InputError), not enqueued as the payload `{}`",
    "  if (typeof then !== \"function\") return value;", "  return value;", [T("queue.enqueue"), T("testing.runtask")]),
  m("validate-promise-rejection-loose", "lib/task-check.ts", "the refused promise's rejection is caught: no unhandled rejection ends the caller's process",
    "  callQuietly(() => then.call(value, undefined, () => {}));\n", "", [T("queue.enqueue")]),
  m("runtask-payload-unchecked", "lib/testing.ts", "runTask takes a payload under the enqueue's rule: NaN, a BigInt, a function is the enqueue's InputError",
    "JSON.parse(payloadJson(checked))", "JSON.parse(JSON.stringify(checked ?? null))", [T("testing.runtask")]),
];
