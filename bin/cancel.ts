#!/usr/bin/env bun
// Cancel jobs: `--jobid ID [ID…] | ID… | -` (ids on stdin, one a line) `[--json]`.
import { defineCommand } from "citty";
import { Admin } from "../lib/admin/admin.ts";
import { cancelExit, cancelJson, cancelLine } from "../lib/cli/cancel.ts";
import { streamLines } from "../lib/cli/input.ts";
import { safeText } from "../lib/cli/safe-text.ts";
import { isValidJobId } from "../lib/engine/record.ts";
import { commonArgs, EXIT, printJson, queueArgs, runCli, UsageError } from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "cancel",
    description: `Cancel jobs: a queued, scheduled, retrying or parked job never runs; a running job's AbortSignal fires on its worker within a second and whatever the task does next is ignored. The job ends with status canceled (result exits ${EXIT.canceled}). One line per id: "ID: canceled (was queued|scheduled|retrying|parked|started)", or "ID: already finished|failed|canceled, nothing to cancel" (a second cancel is a no-op, exit ${EXIT.ok}). Exit codes: ${EXIT.ok} every id canceled or ended, ${EXIT.notFound} some id unknown (or expired), ${EXIT.connect} Redis unreachable or a key of another type, ${EXIT.usage} bad usage.`,
  },
  args: {
    ids: {
      type: "positional",
      description: "Job ids; - reads them from stdin, one a line",
      required: false,
    },
    jobid: { type: "string", description: "A job id (more may follow as IDs)" },
    json: {
      type: "boolean",
      description:
        "Print one JSON object per id: { id, verdict: canceled|ended|unknown|corrupt, from | status | type }",
    },
    ...commonArgs,
  },
  async run({ args }) {
    const ids = await jobIds(args._ as string[], args.jobid);
    const admin = await Admin.connect(queueArgs(args));
    try {
      const verdicts = await admin.cancel(ids);
      for (const v of verdicts) {
        if (args.json) printJson(cancelJson(v));
        else {
          const { out, text } = cancelLine(v);
          (out ? process.stdout : process.stderr).write(`${out ? "" : "cancel: "}${text}\n`);
        }
      }
      process.exitCode = cancelExit(verdicts, { notFound: EXIT.notFound, refused: EXIT.connect });
    } finally {
      await admin.close();
    }
  },
});

/** The ids given (`--jobid ID`, IDs, or `-`: stdin), each checked; at least one. */
async function jobIds(positional: string[], jobid: string | undefined): Promise<string[]> {
  const given = [...(jobid === undefined ? [] : [jobid]), ...positional];
  const ids: string[] = [];
  for (const id of given) {
    if (id !== "-") ids.push(id);
    else for await (const lines of streamLines("-")) ids.push(...lines.map((l) => l.text.trim()));
  }
  if (ids.length === 0)
    throw new UsageError(
      "give the job ids: cancel --jobid ID [ID…] (or - to read them from stdin)",
    );
  const bad = ids.find((id) => !isValidJobId(id));
  if (bad !== undefined) {
    throw new UsageError(`"${safeText(bad)}" is not a job id (1-128 letters, digits and _ . : -)`);
  }
  return ids;
}

export { command };

if (import.meta.main) await runCli(command);
