#!/usr/bin/env bun
// Recurring schedules: `add NAME`, `list`, `remove NAME`, `pause NAME`, `resume NAME`, `run`,
// each a citty subcommand with its own options and --help. Workers fire them (and `run`).
import { defineCommand } from "citty";
import { addSpec, listSchedules, scheduleJson } from "../lib/cli/schedule.ts";
import { onStopSignals } from "../lib/cli/stop-signals.ts";
import { writeOut } from "../lib/cli/write-out.ts";
import { defaults } from "../lib/config.ts";
import { CourierError, InputError } from "../lib/errors.ts";
import { createLogger, type LogFormat } from "../lib/log.ts";
import { safeText, shownId } from "../lib/safe-text.ts";
import { startScheduler } from "../lib/schedule/scheduler.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { checkSpec } from "../lib/schedule/spec.ts";
import {
  commonArgs,
  EXIT,
  printJson,
  queueArgs,
  runCli,
  runsWithStdoutClosed,
  UsageError,
} from "./_cli.ts";

const json = { type: "boolean", description: "Print JSON instead of text" } as const;
const name = { type: "positional", description: "The schedule's name", required: true } as const;
const { queue: _queue, ...connection } = commonArgs;

async function withSchedules(args: Record<string, unknown>, fn: (s: Schedules) => Promise<void>) {
  // No queue: `add` names its own (spec.queue), the others act on names across queues, so a
  // worker's list in COURIER_QUEUE (`high,default,low`) is nothing to refuse here.
  const { queue: _, ...connection } = queueArgs(args);
  const schedules = await Schedules.connect(connection);
  try {
    await fn(schedules);
  } finally {
    await schedules.close();
  }
}

/** The one NAME a command takes. */
function oneName(args: Record<string, unknown>): string {
  const given = (args._ as string[]) ?? [];
  if (given.length !== 1) throw new UsageError("give one schedule name");
  return given[0]!;
}

const addCommand = defineCommand({
  meta: {
    name: "add",
    description:
      "Add a recurring schedule: a job every interval (--every) or at the times of a cron expression (--cron, in --tz or UTC). Workers of its queue fire it (and `schedule.ts run`), each tick exactly once. Adding the same definition again changes nothing (exit 0; a paused one stays paused); another one under the name is refused unless --replace.",
  },
  args: {
    name,
    every: {
      type: "string",
      description:
        "Fixed spacing from when it is added: 30s, 5m, 1h, 1d (whole seconds, from 1s to 366d)",
    },
    cron: {
      type: "string",
      description:
        "A cron expression: 5 fields (minute hour day month weekday), or 6 with seconds first",
    },
    tz: {
      type: "string",
      description: "Time zone of --cron, an IANA name like Europe/Paris (default UTC)",
    },
    url: { type: "string", description: "The word-count task on this URL" },
    task: { type: "string", description: "Any task, by name (with --payload)" },
    payload: {
      type: "string",
      description: "The JSON payload of --task (default null; at most 1 MiB)",
    },
    missed: {
      type: "string",
      description:
        "Ticks missed while no worker or scheduler ran (late by over 5s): once (default: one job for the latest, on return) or skip (none; the next tick waits)",
    },
    replace: {
      type: "boolean",
      description:
        "Replace a schedule of that name (its ticks count from now; a paused one stays paused until resume)",
    },
    json,
    ...commonArgs,
    queue: {
      type: "string",
      description: `The queue its jobs go to (env COURIER_QUEUE; default ${defaults.queue})`,
    },
  },
  async run({ args }) {
    const spec = addSpec({ ...args, name: oneName(args) } as Parameters<typeof addSpec>[0]);
    spec.queue = queueArgs(args).queue;
    checkSpec(spec, spec.queue); // before Redis is contacted: a mistake is exit 2, Redis up or not
    await withSchedules(args, async (s) => {
      const added = await s.add(spec, { replace: Boolean(args.replace) });
      if (args.json) return printJson({ ...scheduleJson(added), created: added.created });
      const resume = `schedule.ts resume ${safeText(added.name)} runs it`;
      const what = added.created
        ? added.def?.paused
          ? `replaced, and still paused (${resume})`
          : "added"
        : added.def?.paused
          ? `exists already, unchanged, and paused (${resume})`
          : "exists already, unchanged";
      const next = added.next === null ? "none" : new Date(added.next).toISOString();
      print(`schedule ${safeText(added.name)} ${what}; next run ${next}`);
    });
  },
});

const listCommand = defineCommand({
  meta: {
    name: "list",
    description:
      "The recurring schedules: queue, when, task, missed-tick policy and next run (UTC; `paused` while paused). Printed a page (500) at a time as read: a queue's by name (--queue), every queue's in pages of no order, each page by name; a slow reader holds the next page back. A queue whose key of schedules holds another type (another program's) is left out, the others listed: a line on stderr names the key, exit 6.",
  },
  args: {
    json: {
      type: "boolean",
      description:
        "Print one JSON object { schedules: [{ name, queue, every_ms | cron, tz, task, payload, missed, paused, next }] }, written as read",
    },
    ...connection,
    queue: { type: "string", description: "Only the schedules of this queue" },
  },
  async run({ args }) {
    await withSchedules(args, async (s) => {
      const queue = args.queue === undefined || args.queue === "" ? undefined : args.queue;
      // Printed a page at a time as read: a million schedules never sit in memory at once.
      // A slow reader (a pager, a pipe) holds the next page back: memory stays one page.
      const skipped = await listSchedules(s, queue, Boolean(args.json), writeOut);
      for (const line of skipped) process.stderr.write(`schedule: ${line}\n`);
      if (skipped.length > 0) process.exitCode = EXIT.connect; // as a WRONGTYPE refusal is
    });
  },
});

function changeCommand(verb: "remove" | "pause" | "resume") {
  const text = {
    remove: "Remove a schedule (jobs it enqueued are left alone).",
    pause:
      "Pause a schedule: no tick fires until `resume` (stored in Redis); a tick a scheduler is firing at that moment may still get its job.",
    resume:
      "Resume a paused schedule: its next run is its first tick from now (ticks of the pause do not run).",
  }[verb];
  return defineCommand({
    meta: { name: verb, description: `${text} Exit ${EXIT.notFound} for no such schedule.` },
    args: { name, json, ...connection },
    async run({ args }) {
      const given = oneName(args);
      await withSchedules(args, async (s) => {
        const changed = verb === "remove" ? await s.remove(given) : await s[verb](given);
        if (verb === "remove" && !changed)
          throw new CourierError("ENOTFOUND", `no schedule ${shownId(given)} (prefix ${s.prefix})`);
        if (args.json)
          return printJson({ name: given, [verb === "remove" ? "removed" : "changed"]: changed });
        const done = { remove: "removed", pause: "paused", resume: "resumed" }[verb];
        const already = verb === "pause" ? "already paused" : "not paused";
        print(`schedule ${safeText(given)} ${changed ? done : already}`);
      });
    },
  });
}

const runCommand = defineCommand({
  meta: {
    name: "run",
    description:
      "Run a standalone scheduler until SIGINT/SIGTERM/SIGHUP: it fires every queue's schedules (or those of --queue), as workers do for their queues. Any number of schedulers and workers fire a tick once.",
  },
  args: {
    ...connection,
    queue: {
      type: "string",
      description: "Only these queues' schedules (comma-separated; default every queue)",
    },
    "log-format": {
      type: "string",
      description: "human or json; default: human on a terminal, else json",
    },
  },
  async run({ args }) {
    const format = args["log-format"] ?? "auto";
    if (!["human", "json", "auto"].includes(format)) {
      throw new InputError(`--log-format must be human or json, got "${format.slice(0, 20)}"`);
    }
    const logger = createLogger(
      format === "auto" ? (process.stdout.isTTY ? "human" : "json") : (format as LogFormat),
    );
    const { redisUrl, prefix } = queueArgs(args);
    // `--queue ,,,` meant every queue, silently: an empty name in the list is refused.
    const queues = args.queue === undefined ? [] : args.queue.split(",");
    if (queues.some((q) => q.trim() === "")) {
      throw new InputError(
        "--queue: a queue name in the list is empty (give names, comma-separated)",
      );
    }
    // Listening before the start: a signal meanwhile stops it once started, where the default
    // action killed it (one sent on seeing "scheduler started" could still find no handler).
    const stopped = new Promise<void>((resolve) => {
      onStopSignals(() => resolve(), { once: true });
    });
    const scheduler = await startScheduler({ redisUrl, prefix, queues, logger });
    logger.log("info", "scheduler started", { queues: queues.join(",") || "all" });
    await stopped;
    await scheduler.stop();
    logger.log("info", "scheduler stopped", {});
  },
});
runsWithStdoutClosed(runCommand); // its output is a log

const command = defineCommand({
  meta: {
    name: "schedule",
    description: "Recurring schedules: add NAME, list, remove NAME, pause NAME, resume NAME, run.",
  },
  subCommands: {
    add: addCommand,
    list: listCommand,
    remove: changeCommand("remove"),
    pause: changeCommand("pause"),
    resume: changeCommand("resume"),
    run: runCommand,
  },
});

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export { command };

if (import.meta.main) await runCli(command);
