#!/usr/bin/env bun
// A queue's controls: `pause NAME`, `resume NAME`, `empty NAME --all`, `jobs NAME --state S`,
// `events NAME`, each a citty subcommand with its own options and --help.
import { defineCommand } from "citty";
import { Admin } from "../lib/admin/admin.ts";
import { isJobState, JOB_STATES } from "../lib/admin/jobs.ts";
import { printEvents } from "../lib/cli/events.ts";
import { failedReadLine } from "../lib/cli/info-text.ts";
import { limitsChange, limitsJson, limitsLines } from "../lib/cli/limits.ts";
import {
  emptiedJson,
  emptiedLine,
  formatJobsPage,
  jobRowJson,
  mustExist,
  pauseLine,
} from "../lib/cli/queue.ts";
import { onStopSignals } from "../lib/cli/stop-signals.ts";
import { writeOut } from "../lib/cli/write-out.ts";
import { QUEUE_NAME } from "../lib/config.ts";
import { Queue } from "../lib/queue/queue.ts";
import { safeText } from "../lib/safe-text.ts";
import {
  commonArgs,
  EXIT,
  intArg,
  printJson,
  queueArgs,
  runCli,
  UsageError,
  waitsToPrint,
} from "./_cli.ts";

const json = { type: "boolean", description: "Print JSON instead of text" } as const;
const name = { type: "positional", description: "The queue's name", required: true } as const;
// The queue is the NAME: no --queue beside it.
const { queue: _queue, ...connection } = commonArgs;

/** Connects to the queue NAME (exit 2 for a name no queue may have, 4 for no such queue), runs `fn`. */
async function withQueue(args: Record<string, unknown>, fn: (a: Admin) => Promise<void>) {
  const given = (args._ as string[]) ?? [];
  if (given.length !== 1) throw new UsageError("give one queue name");
  const queue = given[0]!;
  if (!QUEUE_NAME.test(queue)) {
    throw new UsageError(
      `"${queue.slice(0, 40)}" is no queue name (1-100 letters, digits or _.:-)`,
    );
  }
  const admin = await Admin.connect({ ...queueArgs(args), queue });
  try {
    await mustExist(admin);
    await fn(admin);
  } finally {
    await admin.close();
  }
}

function pauseCommand(paused: boolean) {
  return defineCommand({
    meta: {
      name: paused ? "pause" : "resume",
      description: paused
        ? `Pause a queue: its workers start no new job within a second (pauseCheckMs) and finish those they run; it holds across worker restarts (stored in Redis) until \`resume\`. Pausing a paused queue says so, exit 0. Exit ${EXIT.notFound} for no such queue.`
        : `Resume a paused queue: its workers take jobs again within a second. Resuming a running queue says so, exit 0. Exit ${EXIT.notFound} for no such queue.`,
    },
    args: { name, json, ...connection },
    async run({ args }) {
      await withQueue(args, async (admin) => {
        const changed = paused ? await admin.pause() : await admin.resume();
        const { queue } = admin.options;
        if (args.json) printJson({ queue, paused, changed });
        else print(pauseLine(queue, paused, changed));
      });
    },
  });
}

const emptyCommand = defineCommand({
  meta: {
    name: "empty",
    description: `Remove every job of a queue that waits: waiting (delivered to no worker yet), delayed (a later start or a retry's back-off) and parked (no live worker has its task); running jobs are untouched and finish. Removed jobs are forgotten (\`result\` exits ${EXIT.notFound}). Prints how many. Needs --all. Exit ${EXIT.notFound} for no such queue.`,
  },
  args: {
    name,
    all: { type: "boolean", description: "Yes, remove them all (required)" },
    json,
    ...connection,
  },
  async run({ args }) {
    // Removing every waiting job is not what a bare `empty` should do by accident.
    if (!args.all) {
      throw new UsageError(
        `empty removes every waiting, delayed and parked job of queue ${safeText(String(args.name))} (running ones finish): say --all to do it`,
      );
    }
    await withQueue(args, async (admin) => {
      const emptied = await admin.empty();
      const { queue } = admin.options;
      if (args.json) printJson(emptiedJson(queue, emptied));
      else print(emptiedLine(queue, emptied));
    });
  },
});

const jobsCommand = defineCommand({
  meta: {
    name: "jobs",
    description: `A queue's jobs in one state, newest first (--oldest: oldest first), a page at a time: id, task, time (enqueued for waiting, running and waiting-for-parents, due for delayed, ended for finished, failed and canceled, died for dead), attempt, and the worker of a running one. Finished, failed and canceled jobs are those whose events are still kept (about eventsMaxLen jobs per shard, 10,000 by default), and their task and attempt while their outcome is. Exit ${EXIT.notFound} for no such queue.`,
  },
  args: {
    name,
    state: {
      type: "string",
      description: `Which jobs: ${JOB_STATES.join(", ")} (required)`,
    },
    limit: { type: "string", description: "Jobs per page (1-500; default 20)" },
    cursor: {
      type: "string",
      description:
        "Go on after the page that printed it (`next` with --json): it holds a position per shard, for this state and order only",
    },
    oldest: { type: "boolean", description: "Oldest first (default: newest first)" },
    json: {
      type: "boolean",
      description:
        "Print one JSON object { queue, state, jobs: [{ id, task, at, attempt, worker? }], next }",
    },
    ...connection,
  },
  async run({ args }) {
    const state = args.state;
    if (state === undefined) throw new UsageError(`give --state: ${JOB_STATES.join(", ")}`);
    if (!isJobState(state)) {
      throw new UsageError(
        `--state must be one of ${JOB_STATES.join(", ")}, got "${state.slice(0, 40)}"`,
      );
    }
    const limit = intArg(args.limit, "limit", 1, 500) ?? 20;
    const cursor = args.cursor === undefined ? null : String(args.cursor);
    const oldest = Boolean(args.oldest);
    await withQueue(args, async (admin) => {
      const page = await admin.jobs({ state, limit, cursor, oldest });
      const { queue } = admin.options;
      if (args.json) printJson({ queue, state, jobs: page.jobs.map(jobRowJson), next: page.next });
      else print(formatJobsPage(page));
    });
  },
});

const eventsCommand = defineCommand({
  meta: {
    name: "events",
    description: `Print a queue's events as workers write them, one line each, until Ctrl-C (or --count): finished, failed, retried, canceled, progress, and \`gap\` when events after --from were trimmed before they were read. Each line ends with the cursor to resume from right after it (--from). A read that fails (Redis unreachable) is said on stderr, one line, and tried again. Exit ${EXIT.notFound} for no such queue, ${EXIT.usage} for a cursor that is not one this queue's events printed.`,
  },
  args: {
    name,
    from: {
      type: "string",
      description:
        'Where to begin: "now" (default: only new events), "start" (every event still kept), or a cursor a line printed',
    },
    count: { type: "string", description: "Stop after this many events (default: never)" },
    json: {
      type: "boolean",
      description: "Print one JSON object a line: { type, id, at, shard, cursor, …fields }",
    },
    ...connection,
  },
  async run({ args }) {
    const count = intArg(args.count, "count", 1, 1_000_000_000);
    await withQueue(args, async (admin) => {
      const queue = await Queue.connect({ ...queueArgs(args), queue: admin.options.queue });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      const offSignals = onStopSignals(onSignal, { once: true });
      let printed = 0;
      try {
        await printEvents(queue, {
          from: args.from === undefined ? "now" : String(args.from),
          json: Boolean(args.json),
          signal: stop.signal,
          // Waits for stdout to drain: a slow reader holds the reads back (R-192, C1's note).
          write: async (line) => {
            await writeOut(`${line}\n`);
            if (count !== undefined && ++printed >= count) stop.abort();
          },
          // Said, not silent: a read failing (Redis unreachable) is tried again with back-off.
          onError: (err) =>
            process.stderr.write(
              `${failedReadLine("queue events", queue.options.redisUrl, err)}\n`,
            ),
        });
      } finally {
        offSignals();
        await queue.close();
      }
    });
  },
});

const limitCommand = defineCommand({
  meta: {
    name: "limit",
    description: `Set or show a queue's rate limits, stored in Redis and kept across restarts; workers follow within a second. --rate N/s: at most N jobs started per interval across all workers (N/s, N/m, N/h or N/<duration> such as 5/2s; starts are spaced evenly, no burst). Jobs with a limit key (JobSpec.limitKey; the word-count task: the URL's host): --key-concurrency C running and --key-rate R/s started per key. A job held back by a limit spends no attempt. \`off\` removes one limit, --clear all. Without flags: prints them. Exit ${EXIT.notFound} for no such queue, ${EXIT.usage} for a bad value.`,
  },
  args: {
    name,
    rate: {
      type: "string",
      description: "Queue-wide: at most N started per interval (e.g. 100/s), or off",
    },
    "key-concurrency": { type: "string", description: "Per limit key: at most C running, or off" },
    "key-rate": {
      type: "string",
      description: "Per limit key: at most R started per interval (e.g. 5/s), or off",
    },
    clear: { type: "boolean", description: "Remove every limit" },
    json,
    ...connection,
  },
  async run({ args }) {
    // Checked before connecting: a bad value costs no connection.
    const change = limitsChange({
      rate: args.rate,
      keyConcurrency: args["key-concurrency"],
      keyRate: args["key-rate"],
      clear: args.clear,
    });
    await withQueue(args, async (admin) => {
      const tell = (line: string) => process.stderr.write(`queue limit: ${safeText(line)}\n`);
      const limits = change ? await admin.setLimits(change, tell) : await admin.limits();
      const { queue } = admin.options;
      if (args.json) printJson(limitsJson(queue, limits));
      else print(limitsLines(queue, limits));
    });
  },
});

const command = defineCommand({
  meta: {
    name: "queue",
    description:
      "A queue's controls: pause NAME, resume NAME, limit NAME, empty NAME --all, jobs NAME --state STATE, events NAME.",
  },
  subCommands: {
    pause: pauseCommand(true),
    resume: pauseCommand(false),
    limit: limitCommand,
    empty: emptyCommand,
    jobs: jobsCommand,
    events: eventsCommand,
  },
});

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export { command };

waitsToPrint(eventsCommand); // with stdout closed at start, it stops before its first event
if (import.meta.main) await runCli(command);
