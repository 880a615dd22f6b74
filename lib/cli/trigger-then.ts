// `trigger --file urls.txt --then TASK [--then-payload JSON]` and `--summary`: the file's jobs
// form one batch, and a callback job runs once after every one of them has ended (finished,
// failed or canceled), reading their outcomes (TaskContext.parents). `--summary` is the
// built-in callback `wordcount-summary` (lib/tasks/wordcount/summary.ts). Checked before Redis
// is contacted: a mistake is one line and exit 2, with nothing enqueued.
import type { ArgsDef } from "citty";
import { InputError } from "../errors.ts";
import { WORDCOUNT_SUMMARY_TASK, WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import { wordCountPayload } from "../tasks/wordcount/payload.ts";
import { parsePayload, taskNameProblem } from "./trigger-job.ts";

export const thenArgs = {
  // biome-ignore lint/suspicious/noThenProperty: the option's name; its value is never a function, so no await takes it for a promise
  then: {
    type: "string",
    description:
      "With --file: the jobs form one batch, and one job of this task (the callback) runs once after all of them have ended, finished or not, reading their outcomes; its id goes to stderr (--json: a last line). Like --task, a task no live worker has waits for one",
  },
  "then-payload": {
    type: "string",
    description: "With --then: the callback's payload, JSON (default null)",
  },
  summary: {
    type: "boolean",
    description: `With --file: the callback is the built-in ${WORDCOUNT_SUMMARY_TASK}, which adds up the pages' word counts (whole-site count, pages counted and failed, top words merged); with --wait it is printed`,
  },
} as const satisfies ArgsDef;

/** The callback of a batch: its task and payload; `summary` for the built-in one. */
export interface ThenJob {
  task: string;
  payload: unknown;
  summary: boolean;
}

/** `--then`/`--summary` checked against the input (`file` given or not); undefined: no batch. */
export function thenOf(
  args: Record<string, unknown>,
  input: { file?: string; task?: string },
): ThenJob | undefined {
  const then = typeof args.then === "string" ? args.then : undefined;
  const text = typeof args["then-payload"] === "string" ? args["then-payload"] : undefined;
  const summary = args.summary === true;
  if (then !== undefined && summary)
    throw new InputError("give --then TASK or --summary, not both");
  if (text !== undefined && then === undefined) {
    throw new InputError(
      summary
        ? "--summary takes no payload (--then-payload)"
        : "--then-payload goes with --then TASK",
    );
  }
  if (then === undefined && !summary) return undefined;
  const flag = summary ? "--summary" : "--then";
  if (input.file === undefined) {
    throw new InputError(`${flag} goes with --file (the batch is the file's jobs)`);
  }
  if (summary) return { task: WORDCOUNT_SUMMARY_TASK, payload: null, summary: true };
  const problem = taskNameProblem(then!);
  if (problem) throw new InputError(`--then: ${problem.replace("--task needs", "needs")}`);
  const payload = text === undefined ? null : parsePayload(text, "--then-payload");
  // The built-in tasks by name: their payloads checked as their own options check them.
  if (then === WORDCOUNT_TASK) {
    return { task: then, payload: wordCountPayload(payload), summary: false };
  }
  return { task: then!, payload, summary: then === WORDCOUNT_SUMMARY_TASK };
}
