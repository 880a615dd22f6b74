#!/usr/bin/env bun
// Enqueue jobs: any task with `--task NAME --payload JSON` (or `--payload-file F`), or the
// built-in word count by `--url URL` (or a bare URL) or `--file PATH` (one URL per line, `-` =
// stdin), streamed in batches with ids printed as Redis acknowledges them. `--delay`/`--at`
// schedule them, `--id KEY` makes a trigger idempotent. `--then TASK`/`--summary` make the
// file's jobs a batch with a callback (lib/cli/trigger-then.ts, trigger-batch.ts). Its input
// checks and lines: lib/cli/trigger-input.ts; what it prints and how it ends: trigger-output.ts.
import { defineCommand } from "citty";
import { onStopSignals, signalStatus } from "../lib/cli/stop-signals.ts";
import { type EnqueuedLine, enqueueLines, idFromUrl } from "../lib/cli/trigger.ts";
import { jobArgs, jobOf } from "../lib/cli/trigger-args.ts";
import { BatchIds, finishBatch, noCallbackLine, skipNote } from "../lib/cli/trigger-batch.ts";
import { existingOf } from "../lib/cli/trigger-existing.ts";
import { cutOnStop, inputOf, nonEmpty, oneLine } from "../lib/cli/trigger-input.ts";
import {
  cutShort,
  existedNote,
  interrupted,
  outputClosed,
  printEnqueued,
  stopped,
  waitAndPrint,
} from "../lib/cli/trigger-output.ts";
import { thenArgs, thenOf } from "../lib/cli/trigger-then.ts";
import { defaults, MAX_ATTEMPTS_LIMIT } from "../lib/config.ts";
import { Queue } from "../lib/queue/queue.ts";
import { safeText } from "../lib/safe-text.ts";
import type { WordCountPayload } from "../lib/tasks/wordcount/index.ts";
import { wordCountLine } from "../lib/tasks/wordcount/limit-key.ts";
import { WORDCOUNT_TASK } from "../lib/tasks/wordcount/name.ts";
import {
  commonArgs,
  durabilityArg,
  durabilityArgs,
  EXIT,
  handleClosedPipeInCommand,
  intArg,
  optionalValue,
  queueArgs,
  runCli,
  shardsArg,
  shardsArgs,
  UsageError,
  waitSeconds,
} from "./_cli.ts";

type Job = EnqueuedLine<unknown>;

const command = defineCommand({
  meta: {
    name: "trigger",
    description:
      "Enqueue jobs and print their ids, one per line, in input order: any task (--task NAME --payload JSON), or word counts (--url, --file); with --then TASK or --summary, a batch whose callback runs once all its jobs have ended.",
  },
  args: {
    address: {
      type: "positional",
      required: false,
      description: "A URL to count the words of, as --url takes it",
    },
    url: {
      type: "string",
      description:
        "URL to count the words of (www.example.org becomes https://www.example.org/); a bare URL argument is the same",
    },
    file: {
      type: "string",
      description: "File with one URL per line (- = standard input; blank and # lines skipped)",
    },
    ...jobArgs,
    ...thenArgs,
    json: {
      type: "boolean",
      description: "Print one JSON object per input line instead of bare ids",
    },
    wait: {
      type: "string",
      description:
        "Wait until the jobs end and print their results; optional limit in SECONDS (default: no limit). With --file, every job's id is kept in memory until then. On a terminal: a progress bar for several jobs, one job's own progress. With --then/--summary: wait for the callback alone and print it (the summary as text; --json: its job)",
    },
    "max-attempts": {
      type: "string",
      description: `Attempts per job before it is dead-lettered, 1 to ${MAX_ATTEMPTS_LIMIT} (default ${defaults.maxAttempts})`,
    },
    skip: {
      type: "string",
      description:
        "With --file: pass over the first N lines of the input (to resume a run that stopped or was interrupted: it says where; default 0)",
    },
    "id-from-url": {
      type: "boolean",
      description:
        "Job id derived from the URL (a hash): a URL whose job still exists is not enqueued again. With --url or --file (with --task, give --id KEY)",
    },
    "retry-connect": {
      type: "string",
      description:
        "Keep trying to reach Redis for up to SECONDS, at start and while enqueueing, before giving up (default 0)",
    },
    "wait-for-memory": {
      type: "string",
      description:
        "While Redis is out of memory, keep retrying for up to SECONDS, with back-off, before giving up (default 0)",
    },
    ...commonArgs,
    ...shardsArgs,
    ...durabilityArgs,
  },
  async run({ args, rawArgs }) {
    handleClosedPipeInCommand(); // it says how far it got (outputClosed)
    const input = inputOf(args, rawArgs);
    const job = await jobOf(args, input);
    const then = thenOf(args, input);
    const wait = waitSeconds(args.wait);
    const maxAttempts = intArg(args["max-attempts"], "max-attempts", 1, MAX_ATTEMPTS_LIMIT);
    const retryConnectS = intArg(args["retry-connect"], "retry-connect", 0, 86_400);
    const waitForMemoryS = intArg(args["wait-for-memory"], "wait-for-memory", 0, 86_400);
    const skip = intArg(args.skip, "skip", 0, Number.MAX_SAFE_INTEGER) ?? 0;
    if (skip > 0 && input.file === undefined) throw new UsageError("--skip goes with --file");
    if (input.url !== undefined) wordCountLine(input.url); // one bad URL: one line, nothing sent
    const lines = job.task ? oneLine("") : await nonEmpty(input, skip);
    const shards = shardsArg(args);
    const queue = await Queue.connect({
      ...queueArgs(args),
      shards,
      durability: durabilityArg(args),
      retryConnectS,
      waitForMemoryS,
    });
    const idFromUrls = Boolean(args["id-from-url"]);
    // A batch with --wait waits for its callback alone: no job's id is kept but for the callback.
    const kept: Job[] | undefined = wait === undefined || then ? undefined : [];
    const batch = then ? new BatchIds() : undefined;
    if (then && skip > 0) process.stderr.write(`${skipNote(skip, idFromUrls)}\n`);
    // The first stop signal ends --file's input where it is (the lines taken are enqueued and
    // printed, cutShort says where to resume); one job is enqueued all the same; during --wait,
    // or a second one, it ends at once.
    let signal: NodeJS.Signals | undefined;
    let waiting = false;
    let stop = () => {};
    const stopSignalled = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const cutInput = input.file === undefined ? null : cutOnStop(lines, stopSignalled);
    onStopSignals((s) => {
      if (kept && (waiting || signal)) return interrupted(kept, args.json, s);
      if (waiting || signal) process.exit(signalStatus(s));
      signal = s;
      stop();
    });
    try {
      const report = await enqueueLines<unknown>(queue, cutInput?.lines ?? lines, {
        task: job.task ?? WORDCOUNT_TASK,
        // A URL's job carries its host as limit key (`queue limit`), from the same parse; a
        // task named by --task gets its default key, if any, from prepareJob.
        toJob: job.task ? () => ({ payload: job.payload }) : wordCountLine,
        idFor: job.id
          ? () => job.id!
          : idFromUrls
            ? (p) => idFromUrl((p as WordCountPayload).url)
            : undefined,
        maxAttempts,
        schedule: job.schedule,
        onEnqueued: async (jobs) => {
          batch?.add(jobs);
          // With --wait a batch's output is the callback's result: its jobs' ids are not printed.
          if (!(then && wait !== undefined)) {
            const existing = await existingOf(queue, jobs);
            if (input.file === undefined) existedNote(jobs, existing, args.json);
            if (kept) kept.push(...jobs);
            else await printEnqueued(jobs, job, args.json, existing);
          }
          batch?.check(); // past the most a callback waits for: no more lines are read
        },
        onRefused: (bad) =>
          process.stderr.write(`trigger: line ${bad.line}: ${safeText(bad.error)}\n`),
      });
      const cut = report.stopped || report.halted ? null : (cutInput?.cutAfter() ?? null);
      const halted = report.halted && !BatchIds.isFull(report.halted.error);
      if (then && (report.stopped || halted || cut !== null)) {
        process.stderr.write(`${noCallbackLine(idFromUrls)}\n`);
      }
      if (report.stopped) {
        const bulk = input.file !== undefined;
        const printed = !(then && wait !== undefined);
        const how = { bulk, idFromUrls, retryConnectS, task: job.task, givenId: !!job.id, printed };
        return stopped(report, how, kept, args.json);
      }
      if (report.halted) return outputClosed(report, input.file !== undefined);
      if (cut !== null) {
        const unprinted = then && wait !== undefined ? batch!.ids : undefined;
        return cutShort(report, cut, kept, args.json, signal!, unprinted);
      }
      // A stop with every line taken: the run ends as it would, but for a wait, which it ends.
      if (signal && kept) return interrupted(kept, args.json, signal);
      waiting = true;
      const usage = report.refused > 0 ? EXIT.usage : EXIT.ok;
      if (then) {
        const { priority } = job.schedule;
        const end = { maxAttempts, priority, wait, json: !!args.json, usage, idFromUrls };
        process.exitCode = await finishBatch(queue, then, batch!.ids, end);
      } else if (!kept) process.exitCode = usage;
      else process.exitCode = await waitAndPrint(queue, kept, wait!, args.json, usage, job.task);
    } finally {
      await queue.close();
      // Stopped early while a pipe still feeds us: the pending read must not keep us running.
      if (input.file === "-" || job.fromStdin) process.stdin.destroy();
    }
  },
});

// Exported for the entry point of compiled binaries and for tests.
export { command };

if (import.meta.main) {
  await runCli(command, optionalValue(process.argv.slice(2), "wait", "forever"));
}
