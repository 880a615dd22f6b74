#!/usr/bin/env bun
// Enqueue word-count jobs: `--url URL`, or `--file PATH` (one URL per line, `-` = stdin).
import { defineCommand } from "citty";
import { formatJob, formatJobLine, jobJson } from "../lib/cli/format.ts";
import { type Line, readLines } from "../lib/cli/input.ts";
import { progressBar } from "../lib/cli/progress.ts";
import { enqueueLines, waitForAll } from "../lib/cli/trigger.ts";
import { defaults } from "../lib/config.ts";
import { Queue } from "../lib/queue.ts";
import { WORDCOUNT_TASK } from "../lib/tasks/wordcount/index.ts";
import { normaliseUrl } from "../lib/tasks/wordcount/url.ts";
import {
  commonArgs,
  EXIT,
  intArg,
  optionalValue,
  printJson,
  queueArgs,
  runCli,
  UsageError,
  waitSeconds,
} from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "trigger",
    description: "Enqueue word-count jobs and print their ids, one per line, in input order.",
  },
  args: {
    url: {
      type: "string",
      description: "URL to count the words of (www.example.org becomes https://www.example.org/)",
    },
    file: {
      type: "string",
      description: "File with one URL per line (- = standard input; blank and # lines skipped)",
    },
    json: {
      type: "boolean",
      description: "Print one JSON object per input line instead of bare ids",
    },
    wait: {
      type: "string",
      description:
        "Wait until the jobs end and print their results; optional limit in SECONDS (default: no limit)",
    },
    "max-attempts": {
      type: "string",
      description: `Attempts per job before it is dead-lettered (default ${defaults.maxAttempts})`,
    },
    "retry-connect": {
      type: "string",
      description:
        "Keep trying to reach Redis for up to SECONDS, at start and while enqueueing, before giving up (default 0)",
    },
    ...commonArgs,
  },
  async run({ args }) {
    if (!args.url === !args.file) throw new UsageError("give either --url URL or --file PATH");
    const wait = waitSeconds(args.wait);
    const maxAttempts = intArg(args["max-attempts"], "max-attempts", 1, 1000);
    const retryConnectS = intArg(args["retry-connect"], "retry-connect", 0, 86_400);
    const lines: Line[] = args.url ? [{ line: 1, text: args.url }] : await readLines(args.file!);
    if (args.url) normaliseUrl(args.url); // a single bad URL: one-line error, nothing enqueued
    if (lines.length === 0) throw new UsageError(`no URLs in ${args.file}`);
    const queue = await Queue.connect({ ...queueArgs(args), retryConnectS });
    try {
      const report = await enqueueLines(
        queue,
        WORDCOUNT_TASK,
        lines,
        (t) => ({ url: normaliseUrl(t) }),
        maxAttempts,
      );
      for (const bad of report.refused)
        process.stderr.write(`trigger: line ${bad.line}: ${bad.error}\n`);
      if (wait === undefined) {
        for (const e of report.enqueued) {
          if (args.json)
            printJson({ line: e.line, id: e.id, url: e.payload.url, created: e.created });
          else process.stdout.write(`${e.id}\n`);
        }
        process.exitCode = report.refused.length > 0 ? EXIT.usage : EXIT.ok;
        return;
      }
      const bar = progressBar();
      const ids = report.enqueued.map((e) => e.id);
      const waited = await waitForAll(queue, ids, wait, bar.update);
      bar.end();
      waited.jobs.forEach(({ id, record }, i) => {
        const line = report.enqueued[i]!.line;
        if (args.json)
          printJson(record ? { line, ...jobJson(record) } : { line, id, status: null });
        else if (!record) process.stdout.write(`${id}  unknown (record expired)\n`);
        else
          process.stdout.write(`${ids.length === 1 ? formatJob(record) : formatJobLine(record)}\n`);
      });
      process.exitCode = exitFor(
        waited.jobs.map((j) => j.record?.status),
        waited.timedOut,
        report.refused.length,
      );
    } finally {
      await queue.close();
    }
  },
});

function exitFor(statuses: (string | undefined)[], timedOut: boolean, refused: number): number {
  if (timedOut) return EXIT.timeout;
  if (statuses.some((s) => s !== "finished")) return EXIT.failed;
  return refused > 0 ? EXIT.usage : EXIT.ok;
}

// Exported for the entry point of compiled binaries and for tests.
export { command };

if (import.meta.main) {
  await runCli(command, optionalValue(process.argv.slice(2), "wait", "forever"));
}
