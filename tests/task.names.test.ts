// One rule for a task's name (lib/task-check.ts), the library's and the CLI's alike: a task the
// library takes (defineTask, Worker.start, runTask), a job it enqueues and a schedule it saves
// can be triggered by name from the CLI (`trigger --task`, `--then`, `schedule add --task`), and
// a name the CLI refuses (a space, a bidi mark, an invisible character: read one way and stored
// another, R-192; over 100 characters) the library refuses too.
import { describe, expect, test } from "bun:test";
import { taskNameProblem as cliProblem } from "../lib/cli/trigger-job.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { checkSpec } from "../lib/schedule/spec.ts";
import { defineTask } from "../lib/types.ts";

const run = async () => null;

/** Whether each of the library's doors takes `name`: defineTask, enqueue, a schedule. */
function libraryTakes(name: string): boolean[] {
  const takes = (f: () => unknown) => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  return [
    takes(() => defineTask({ name, run })),
    takes(() => prepareJob({ task: name, payload: null }, { maxAttempts: 3 })),
    takes(() => checkSpec({ name: "s", every: "5m", task: name }, "q")),
  ];
}

describe("a task name: the library takes what the CLI takes, and no other", () => {
  // biome-ignore format: a table
  const names: [string, string][] = [
    ["a plain name", "send-mail"],
    ["dots, colons, non-ASCII letters", "billing.invoice:émettre"],
    ["100 characters", "t".repeat(100)],
    ["a left-to-right mark (U+200E)", "a\u200eb"],
    ["a right-to-left mark (U+200F)", "a\u200fb"],
    ["a word joiner (U+2060)", "a\u2060b"],
    ["a zero-width space (U+200B)", "a\u200bb"],
    ["a right-to-left override", "a\u202eb"],
    ["a tag character", "a\u{e0041}b"],
    ["a space", "send mail"],
    ["a no-break space", "send\u00a0mail"],
    ["a line break", "a\nb"],
    ["101 characters", "t".repeat(101)],
  ];
  for (const [what, name] of names) {
    test(what, () => {
      const cli = cliProblem(name) === undefined;
      expect(libraryTakes(name)).toEqual([cli, cli, cli]);
      expect(libraryTakes(name)).toEqual([cli, cli, cli]); // the same answer the second time
    });
  }
});
