#!/usr/bin/env bun
// Enqueue jobs: any task with `--task NAME --payload JSON` (or `--payload-file F`), or the
// built-in word count by `--url URL` (or a bare URL) or `--file PATH` (one URL per line, `-` =
// stdin), streamed in batches with ids printed as Redis acknowledges them. `--delay`/`--at`
// schedule them, `--id KEY` makes a trigger idempotent. `--then TASK`/`--summary` make the
// file's jobs a batch with a callback (lib/cli/trigger-then.ts, trigger-batch.ts).
import { once } from "node:events";
import { writeSync } from "node:fs";
import { defineCommand } from "citty";
import { formatJob, formatJobLine, jobJson } from "../lib/cli/format.ts";
import { type Line, streamLines } from "../lib/cli/input.ts";
import { jobProgressLine, progressBar } from "../lib/cli/progress.ts";
import { safeJson, safeText } from "../lib/cli/safe-text.ts";
import {
  type EnqueuedLine,
  enqueueLines,
  idFromUrl,
  lostReplyHint,
  stoppedLine,
  type TriggerReport,
} from "../lib/cli/trigger.ts";
import { type JobInput, jobArgs, jobOf } from "../lib/cli/trigger-args.ts";
import { BatchIds, finishBatch, noCallbackLine, skipNote } from "../lib/cli/trigger-batch.ts";
import {
  type Existing,
  existedJson,
  existedLine,
  existingOf,
} from "../lib/cli/trigger-existing.ts";
import { thenArgs, thenOf } from "../lib/cli/trigger-then.ts";
import { timedOutLine, type WaitedJobs, waitForAll } from "../lib/cli/trigger-wait.ts";
import { defaults, MAX_ATTEMPTS_LIMIT } from "../lib/config.ts";
import { ConnectError, describeError, LostReplyError, RedisFullError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
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
  printJson,
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
        "With --file: pass over the first N lines of the input (to resume a run that stopped; default 0)",
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
    if (kept) process.once("SIGINT", () => interrupted(kept));
    try {
      const report = await enqueueLines<unknown>(queue, lines, {
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
      if (then && (report.stopped || (report.halted && !BatchIds.isFull(report.halted.error)))) {
        process.stderr.write(`${noCallbackLine(idFromUrls)}\n`);
      }
      if (report.stopped) {
        const bulk = input.file !== undefined;
        const printed = !(then && wait !== undefined);
        const how = { bulk, idFromUrls, retryConnectS, task: job.task, givenId: !!job.id, printed };
        return stopped(report, how, kept, args.json);
      }
      if (report.halted) return outputClosed(report);
      const usage = report.refused > 0 ? EXIT.usage : EXIT.ok;
      if (then) {
        const { priority } = job.schedule;
        const end = { maxAttempts, priority, wait, json: !!args.json, usage, idFromUrls };
        process.exitCode = await finishBatch(queue, then, batch!.ids, end);
      } else if (!kept) process.exitCode = usage;
      else process.exitCode = await waitAndPrint(queue, kept, wait!, args.json, usage);
    } finally {
      await queue.close();
      // Stopped early while a pipe still feeds us: the pending read must not keep us running.
      if (input.file === "-" || job.fromStdin) process.stdin.destroy();
    }
  },
});

/** `--url URL`, a bare URL, `--file PATH`, or `--task NAME`: exactly one, and not empty. */
function inputOf(args: Record<string, unknown>, rawArgs: string[]): JobInput {
  const urls = rawArgs.filter((a) => a === "--url" || a.startsWith("--url="));
  if (urls.length > 1) throw new UsageError("give --url once; for many URLs use --file PATH");
  const bare = ((args._ as string[] | undefined) ?? []).map(String);
  if (bare.length > 1) throw new UsageError("give one URL; for many URLs use --file PATH");
  const url = typeof args.url === "string" ? args.url : bare[0];
  const file = typeof args.file === "string" ? args.file : undefined;
  if (typeof args.url === "string" && bare.length > 0)
    throw new UsageError(`give the URL once: --url ${args.url} or ${bare[0]}`);
  if (url !== undefined && file !== undefined)
    throw new UsageError("give either a URL or --file PATH, not both");
  if (typeof args.task === "string") {
    if (url !== undefined || file !== undefined)
      throw new UsageError("give either --task NAME or a URL (--url, --file), not both");
    return { task: args.task };
  }
  if (url === undefined && file === undefined)
    throw new UsageError("give --task NAME --payload JSON, or --url URL or --file PATH");
  if (url !== undefined && url.trim() === "") throw new UsageError("the URL is empty");
  if (file !== undefined && file === "") throw new UsageError("--file needs a path (- = stdin)");
  return { url, file };
}

/** One line: a job that comes from no input (`--task`). */
async function* oneLine(text: string): AsyncIterable<Line[]> {
  yield [{ line: 1, text }];
}

/** The input's lines; a file with no URL at all is refused before Redis is contacted. */
async function nonEmpty(
  input: { url?: string; file?: string },
  skip: number,
): Promise<AsyncIterable<Line[]>> {
  if (input.url !== undefined)
    return (async function* () {
      yield [{ line: 1, text: input.url! }];
    })();
  const it = streamLines(input.file!, skip);
  const first = await it.next();
  const where = skip > 0 ? ` after line ${skip}` : "";
  if (first.done)
    throw new UsageError(
      `no URLs in ${input.file === "-" ? "standard input" : input.file}${where}`,
    );
  return (async function* () {
    yield first.value;
    yield* it;
  })();
}

/** Prints a batch's ids (or JSON lines), waiting for stdout to drain: memory stays bounded. */
async function printEnqueued(
  jobs: Job[],
  given: { task?: string },
  json: boolean | undefined,
  existing?: Map<string, Existing | null>,
): Promise<void> {
  const what = (e: Job) => ({
    ...(given.task ? { task: given.task } : { url: (e.payload as WordCountPayload).url }),
    // Not enqueued: the stored job's status and task, not the ones given.
    ...(e.created ? {} : existedJson(existing?.get(e.id))),
  });
  const text = json
    ? jobs
        .map((e) => safeJson({ line: e.line, id: e.id, ...what(e), created: e.created }))
        .join("\n")
    : jobs.map((e) => e.id).join("\n");
  if (!process.stdout.write(`${text}\n`)) await once(process.stdout, "drain");
}

/**
 * One job (`--task`, `--url`) whose id exists already (`--id`, `--id-from-url`): nothing was
 * enqueued, and the id printed is the existing job's. Said on stderr (JSON says `created`).
 */
function existedNote(
  jobs: Job[],
  existing: Map<string, Existing | null>,
  json: boolean | undefined,
): void {
  for (const e of jobs) {
    if (e.created || json) continue;
    process.stderr.write(`${existedLine(e.id, existing.get(e.id))}\n`);
  }
}

/** After a failure part-way: the ids enqueued, the cause, where to resume; exit 7 or 6. */
async function stopped(
  report: TriggerReport,
  how: {
    bulk: boolean;
    idFromUrls: boolean;
    retryConnectS: number | undefined;
    task?: string;
    givenId?: boolean;
    printed: boolean;
  },
  kept: Job[] | undefined,
  json: boolean | undefined,
): Promise<void> {
  const { bulk, idFromUrls } = how;
  const err = report.stopped!.error;
  if (!(err instanceof RedisFullError || err instanceof ConnectError)) throw err;
  if (kept) await printEnqueued(kept, how, json);
  const hint =
    err instanceof LostReplyError
      ? `; ${lostReplyHint(bulk, idFromUrls, how.retryConnectS, how.givenId)}`
      : "";
  process.stderr.write(`trigger: ${safeText(describeError(err))}${hint}\n`);
  const unsure = err instanceof ConnectError;
  if (bulk) {
    process.stderr.write(`trigger: ${stoppedLine(report, idFromUrls, unsure, how.printed)}\n`);
  }
  process.exitCode = err instanceof RedisFullError ? EXIT.full : EXIT.connect;
}

/**
 * Ctrl-C with --wait: only the wait stops; the jobs enqueued so far (queued, running or already
 * ended) go on in Redis, so their ids must not be lost.
 * Written synchronously: process.exit() would drop what a pipe has not taken yet.
 */
function interrupted(jobs: Job[]): never {
  if (jobs.length > 0) writeSync(1, `${jobs.map((j) => j.id).join("\n")}\n`);
  writeSync(
    2,
    `trigger: interrupted; ${jobs.length === 1 ? "1 job enqueued goes" : `${jobs.length} jobs enqueued go`} on without this wait (ids printed; result ID shows each)\n`,
  );
  process.exit(130);
}

/**
 * Standard output closed (`trigger --file big | head`): nothing more is read, and since the
 * ids of what was enqueued can no longer all be shown, stderr says how far it got. Exit 141,
 * as a process killed by SIGPIPE would.
 */
function outputClosed(report: TriggerReport): void {
  const { error, resumeLine } = report.halted!;
  if ((error as { code?: string }).code !== "EPIPE") throw error;
  process.stderr.write(
    `trigger: standard output closed; lines up to ${resumeLine - 1} enqueued (${report.enqueued} jobs, not every id printed), later lines not read; to resume, run again with --skip ${resumeLine - 1}\n`,
  );
  process.exitCode = 141;
}

async function waitAndPrint(
  queue: Queue,
  jobs: Job[],
  seconds: number,
  json: boolean | undefined,
  usage: number,
): Promise<number> {
  const ids = jobs.map((e) => e.id);
  if (ids.length === 1) process.stderr.write(`trigger: job ${ids[0]} enqueued, waiting for it\n`);
  const bar = progressBar();
  // One job: its own progress (`ctx.progress`) on a terminal, as `result --wait` draws it.
  const progress = jobProgressLine();
  const onJobProgress = ids.length === 1 ? (_: string, v: unknown) => progress.show(v) : undefined;
  const ended = () => {
    bar.end(); // the wait is over: the lines below must not share the bar's line
    progress.end();
  };
  let i = 0;
  const print = async (page: WaitedJobs) => {
    ended();
    for (const { id, record } of page) {
      const line = jobs[i++]!.line;
      if (json) printJson(record ? { line, ...jobJson(record) } : { line, id, status: null });
      else if (!record) process.stdout.write(`${id}  unknown (record expired)\n`);
      else
        process.stdout.write(`${ids.length === 1 ? formatJob(record) : formatJobLine(record)}\n`);
    }
    if (process.stdout.writableNeedDrain) await once(process.stdout, "drain");
  };
  const waited = await waitForAll(queue, ids, seconds, print, bar.update, onJobProgress).finally(
    ended,
  );
  if (waited.timedOut) {
    process.stderr.write(`trigger: ${safeText(timedOutLine(waited, seconds))}\n`);
    return EXIT.timeout;
  }
  if (!waited.allFinished) return EXIT.failed;
  return usage;
}

// Exported for the entry point of compiled binaries and for tests.
export { command };

if (import.meta.main) {
  await runCli(command, optionalValue(process.argv.slice(2), "wait", "forever"));
}
