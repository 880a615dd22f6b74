#!/usr/bin/env bun
// Dead letters: `list`, `show ID`, `requeue ID…|--all`, `purge --older-than DURATION|--all`.
import { defineCommand } from "citty";
import { Admin } from "../lib/admin/admin.ts";
import { deadLetterJson, formatDeadLetter, formatDeadPage, letterJson } from "../lib/admin/dead.ts";
import { formatDuration, parseDuration } from "../lib/admin/duration.ts";
import { safeText } from "../lib/cli/safe-text.ts";
import { CourierError } from "../lib/errors.ts";
import { commonArgs, EXIT, intArg, printJson, queueArgs, runCli, UsageError } from "./_cli.ts";

const ACTIONS = ["list", "show", "requeue", "purge"] as const;

const command = defineCommand({
  meta: {
    name: "dead",
    description: `Jobs that failed for good. list: newest first (id, task, attempts, when, error). show ID: the letter and the job's attempts. requeue ID…|--all: run again with a fresh attempt count (atomic: never both dead and queued; the history keeps the old error). purge --older-than DURATION|--all: delete letters older than e.g. 7d, 12h, 30m, 45s, or all of them. Exit ${EXIT.notFound} when an id has no dead letter.`,
  },
  args: {
    action: { type: "positional", description: ACTIONS.join(" | "), required: true },
    all: { type: "boolean", description: "requeue: every dead job; purge: every dead letter" },
    "older-than": {
      type: "string",
      description: "purge: only letters older than this (7d, 12h, 30m, 45s)",
    },
    limit: { type: "string", description: "list: letters shown, newest first (default 20)" },
    json: { type: "boolean", description: "Print JSON instead of text" },
    ...commonArgs,
  },
  async run({ args }) {
    const action = args.action as (typeof ACTIONS)[number];
    if (!ACTIONS.includes(action)) {
      throw new UsageError(`unknown action "${args.action}": use ${ACTIONS.join(", ")}`);
    }
    const ids = (args._ as string[]).slice(1);
    const limit = intArg(args.limit, "limit", 1, 500) ?? 20;
    const olderThan = args["older-than"] ? parseDuration(args["older-than"]) : undefined;
    if (action === "show" && ids.length !== 1) throw new UsageError("show takes one job id");
    if (action === "requeue" && !args.all === (ids.length === 0)) {
      throw new UsageError("requeue takes job ids, or --all");
    }
    // Deleting every dead letter is not what a bare `purge` should do by accident.
    if (action === "purge" && !args.all === (olderThan === undefined)) {
      throw new UsageError(
        "purge takes --older-than DURATION, or --all to delete every dead letter",
      );
    }
    const admin = await Admin.connect(queueArgs(args));
    try {
      const json = Boolean(args.json);
      if (action === "list") await list(admin, limit, json);
      else if (action === "show") await show(admin, ids[0]!, json);
      else if (action === "requeue" && args.all) await requeueAll(admin, json);
      else if (action === "requeue") await requeue(admin, ids, json);
      else await purge(admin, olderThan, json);
    } finally {
      await admin.close();
    }
  },
});

async function list(admin: Admin, limit: number, json: boolean): Promise<void> {
  const page = await admin.deadLetters({ limit });
  if (json) printJson({ total: page.total, letters: page.letters.map(letterJson) });
  else print(formatDeadPage(page, admin.options.now()));
}

async function show(admin: Admin, id: string, json: boolean): Promise<void> {
  const letter = await admin.deadLetter(id);
  if (!letter) throw new CourierError("ENOTFOUND", `no dead letter for job ${id}`);
  const job = await admin.job(letter.id);
  if (json) printJson(deadLetterJson(letter, job));
  else print(formatDeadLetter(letter, job));
}

async function requeue(admin: Admin, ids: string[], json: boolean): Promise<void> {
  const done = await admin.requeue(ids);
  for (const d of done) {
    if (json) printJson(d);
    else if (d.verdict === "requeued") print(safeText(d.id));
    else process.stderr.write(`dead: ${safeText(d.id)}: ${WHY[d.verdict]}\n`);
  }
  if (done.some((d) => d.verdict !== "requeued")) process.exitCode = EXIT.notFound;
}

async function requeueAll(admin: Admin, json: boolean): Promise<void> {
  const count = await admin.requeueAll();
  if (json) printJson({ requeued: count });
  else print(`requeued ${count} dead job${count === 1 ? "" : "s"}`);
}

async function purge(admin: Admin, olderThan: number | undefined, json: boolean): Promise<void> {
  const count = await admin.purgeDead(olderThan);
  const which = olderThan === undefined ? "" : ` older than ${formatDuration(olderThan)}`;
  if (json) printJson({ purged: count });
  else print(`purged ${count} dead letter${count === 1 ? "" : "s"}${which}`);
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

const WHY = {
  missing: "no dead letter for this job",
  active: "its job is queued or running again, not dead (the letter is left alone)",
} as const;

export { command };

if (import.meta.main) await runCli(command);
