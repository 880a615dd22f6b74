#!/usr/bin/env bun
// Cancel jobs: `--jobid ID [ID…] | ID… | -` (ids on stdin, one a line) `[--json]`.
import { defineCommand } from "citty";
import { Admin } from "../lib/admin/admin.ts";
import {
  type CancelTally,
  cancelExit,
  cancelJson,
  cancelLine,
  tallyOf,
} from "../lib/cli/cancel.ts";
import { badIdLine, idChunks } from "../lib/cli/cancel-input.ts";
import { writeOut } from "../lib/cli/write-out.ts";
import type { CancelVerdict } from "../lib/queue/cancel.ts";
import { safeJson } from "../lib/safe-text.ts";
import { commonArgs, EXIT, queueArgs, runCli } from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "cancel",
    description: `Cancel jobs: a queued, scheduled, retrying, parked or waiting-for-parents job never runs; a running job's AbortSignal fires on its worker within a second and whatever the task does next is ignored. The job ends with status canceled (result exits ${EXIT.canceled}). One line per id: "ID: canceled (was queued|scheduled|retrying|parked|started|waiting-for-parents)", or "ID: already finished|failed|canceled, nothing to cancel" (a second cancel is a no-op, exit ${EXIT.ok}). Exit codes: ${EXIT.ok} every id canceled or ended, ${EXIT.notFound} some id unknown (or expired), ${EXIT.connect} Redis unreachable or a key of another type, ${EXIT.usage} bad usage, or a line of stdin that is no job id.`,
  },
  args: {
    ids: {
      type: "positional",
      description:
        "Job ids; - reads them from stdin, one a line, canceled 1,000 at a time as they come (a line that is no job id is reported with its number, the others canceled, exit 2 at the end)",
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
    const given = [...(args.jobid === undefined ? [] : [args.jobid]), ...(args._ as string[])];
    const chunks = await idChunks(given);
    const options = queueArgs(args);
    const where = `queue "${options.queue}" (prefix ${options.prefix})`;
    const admin = await Admin.connect(options);
    const tally: CancelTally = { unknown: 0, corrupt: 0, bad: 0 };
    try {
      for await (const chunk of chunks) {
        for (const bad of chunk.bad) process.stderr.write(`cancel: ${badIdLine(bad)}\n`);
        tally.bad += chunk.bad.length;
        const verdicts = chunk.ids.length > 0 ? await admin.cancel(chunk.ids) : [];
        tallyOf(verdicts, tally);
        await print(verdicts, where, args.json);
      }
      const codes = { notFound: EXIT.notFound, refused: EXIT.connect, usage: EXIT.usage };
      process.exitCode = cancelExit(tally, codes);
    } finally {
      await admin.close();
      // Stopped early (Redis gone) while a pipe still feeds us: the read must not keep us running.
      if (given.includes("-")) process.stdin.destroy();
    }
  },
});

/**
 * A chunk's lines in input order: a slow reader holds the rest back (and so the next chunk),
 * so memory stays one chunk however many ids a pipe feeds in.
 */
async function print(verdicts: CancelVerdict[], where: string, json: boolean | undefined) {
  for (const v of verdicts) {
    const { out, text } = json
      ? { out: true, text: safeJson(cancelJson(v)) }
      : cancelLine(v, where);
    if (out) await writeOut(`${text}\n`);
    else process.stderr.write(`cancel: ${text}\n`);
  }
}

export { command };

if (import.meta.main) await runCli(command);
