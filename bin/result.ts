#!/usr/bin/env bun
// Show a job's status and result: `--jobid ID [--json] [--wait [SECONDS]]`.
import { defineCommand } from "citty";
import { formatJob, jobJson } from "../lib/cli/format.ts";
import { fetchResult, JobWaitTimeoutError } from "../lib/cli/result.ts";
import { safeText } from "../lib/cli/safe-text.ts";
import { isValidJobId } from "../lib/engine/record.ts";
import { Queue } from "../lib/queue/queue.ts";
import type { JobRecord } from "../lib/types.ts";
import {
  commonArgs,
  EXIT,
  optionalValue,
  printJson,
  queueArgs,
  runCli,
  UsageError,
  waitSeconds,
} from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "result",
    description: `Print a job's status and, once finished, its result. Exit codes: ${EXIT.ok} finished, ${EXIT.failed} failed, ${EXIT.notFinished} not finished yet, ${EXIT.notFound} unknown id (or expired), ${EXIT.timeout} timed out waiting, ${EXIT.connect} Redis unreachable, ${EXIT.usage} bad usage.`,
  },
  args: {
    jobid: { type: "string", description: "Id printed by trigger", required: true },
    json: {
      type: "boolean",
      description: "Print one JSON object: { id, status, attempts, result, error, … }",
    },
    wait: {
      type: "string",
      description:
        "Block until the job has finished or failed; optional limit in SECONDS (default: no limit)",
    },
    ...commonArgs,
  },
  async run({ args }) {
    if (!args.jobid) throw new UsageError("--jobid needs a job id");
    if (!isValidJobId(args.jobid)) {
      throw new UsageError(
        `"${safeText(args.jobid)}" is not a job id (1-128 letters, digits and _ . : -)`,
      );
    }
    const wait = waitSeconds(args.wait);
    const queue = await Queue.connect(queueArgs(args));
    const print = (job: JobRecord) => {
      if (args.json) printJson(jobJson(job));
      else process.stdout.write(`${formatJob(job)}\n`);
    };
    try {
      const job = await fetchResult(queue, args.jobid, wait).catch((err) => {
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
            : EXIT.notFinished;
    } finally {
      await queue.close();
    }
  },
});

export { command };

if (import.meta.main) {
  await runCli(command, optionalValue(process.argv.slice(2), "wait", "forever"));
}
