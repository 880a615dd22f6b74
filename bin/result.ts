#!/usr/bin/env bun
// Show a job's status and result: `ID|--jobid ID [--json] [--wait [SECONDS]]`.
import { defineCommand } from "citty";
import { formatJob, jobJson } from "../lib/cli/format.ts";
import { jobProgressLine } from "../lib/cli/progress.ts";
import { fetchResult, JobWaitTimeoutError } from "../lib/cli/result.ts";
import { isValidJobId } from "../lib/engine/record.ts";
import { Queue } from "../lib/queue/queue.ts";
import { safeText, shownInput } from "../lib/safe-text.ts";
import type { JobRecord } from "../lib/types.ts";
import {
  commonArgs,
  EXIT,
  optionalValue,
  printJson,
  queueArgs,
  runCli,
  SECONDS,
  UsageError,
  waitSeconds,
} from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "result",
    description: `Print a job's status and, once finished, its result. Exit codes: ${EXIT.ok} finished, ${EXIT.failed} failed, ${EXIT.canceled} canceled, ${EXIT.notFinished} not finished yet, ${EXIT.notFound} unknown id (or expired), ${EXIT.timeout} timed out waiting, ${EXIT.connect} Redis unreachable (or the job's record or failed value is a key of another type), ${EXIT.usage} bad usage.`,
  },
  args: {
    id: { type: "positional", description: "The job's id, as trigger printed it", required: false },
    jobid: { type: "string", description: "The job's id (the same as ID; either one)" },
    json: {
      type: "boolean",
      description: "Print one JSON object: { id, status, attempts, result, error, … }",
    },
    wait: {
      type: "string",
      description:
        "Block until the job has finished, failed or was canceled; optional limit in SECONDS (default: no limit). `result --wait ID` (no other id) waits for ID with no limit. On a terminal, the job's progress is drawn on stderr meanwhile",
    },
    ...commonArgs,
  },
  async run({ args }) {
    const { id, wait } = idAndWait(args._ as string[], args.jobid, args.wait);
    const queue = await Queue.connect(queueArgs(args));
    // While waiting, on a terminal only: the job's progress, redrawn on stderr.
    const progress = jobProgressLine();
    const print = (job: JobRecord) => {
      progress.end();
      if (args.json) printJson(jobJson(job));
      else process.stdout.write(`${formatJob(job)}\n`);
    };
    try {
      const job = await fetchResult(queue, id, wait, progress.show).catch((err) => {
        // Gave up waiting: still say where the job stands (as `trigger --wait` does), exit 5.
        if (err instanceof JobWaitTimeoutError) print(err.record);
        throw err;
      });
      print(job);
      process.exitCode =
        job.status === "finished"
          ? EXIT.ok
          : job.status === "failed"
            ? EXIT.failed
            : job.status === "canceled"
              ? EXIT.canceled
              : EXIT.notFinished;
    } finally {
      progress.end();
      await queue.close();
    }
  },
});

/**
 * The id and the wait. `result --wait ID` gives --wait the id as its value (an option's value
 * comes after it): with no other id and a value that is no number of seconds, that value is the
 * id and the wait has no limit, as the user meant.
 */
function idAndWait(positional: string[], jobid: string | undefined, waitArg: unknown) {
  const noId = positional.length === 0 && jobid === undefined;
  const value = typeof waitArg === "string" && !["", "forever"].includes(waitArg) ? waitArg : "";
  if (!noId || !value || value.startsWith("-")) {
    return { id: jobIdArg(positional, jobid), wait: waitSeconds(waitArg) };
  }
  const shown = safeText(value);
  if (SECONDS.test(value)) {
    throw new UsageError(
      `give the job id: result ID (or --jobid ID); --wait took "${shown}" as its limit in seconds`,
    );
  }
  if (!isValidJobId(value)) {
    throw new UsageError(
      `--wait takes a number of seconds, not "${shown}": put the job id first (result ID --wait) or use --jobid`,
    );
  }
  return { id: value, wait: Number.POSITIVE_INFINITY };
}

/** The job id, given as `result ID` or `result --jobid ID` (one of them, once). */
function jobIdArg(positional: string[], jobid: string | undefined): string {
  if (jobid === "") throw new UsageError("--jobid needs a job id");
  const given = [...positional, ...(jobid === undefined ? [] : [jobid])];
  if (given.length === 0) throw new UsageError("give the job id: result ID (or --jobid ID)");
  if (given.length > 1) throw new UsageError("takes one job id (ID or --jobid ID)");
  const id = given[0]!;
  if (!isValidJobId(id)) {
    throw new UsageError(`"${shownInput(id)}" is not a job id (1-128 letters, digits and _ . : -)`);
  }
  return id;
}

export { command };

if (import.meta.main) {
  await runCli(command, optionalValue(process.argv.slice(2), "wait", "forever"));
}
