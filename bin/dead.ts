#!/usr/bin/env bun
// Dead letters: `list`, `show ID`, `requeue ID…|--all`, `delete ID…`, `purge --older-than
// DURATION|--all`, each a citty subcommand with its own options and --help.
import { defineCommand } from "citty";
import { Admin } from "../lib/admin/admin.ts";
import type { DeleteResult, RequeueResult } from "../lib/admin/dead-actions.ts";
import { isDeadCursor } from "../lib/admin/dead-pages.ts";
import { formatDuration, parseDuration } from "../lib/admin/duration.ts";
import {
  deadLetterJson,
  formatDeadLetter,
  formatDeadPage,
  letterJson,
  unreadableLeftLine,
} from "../lib/cli/dead.ts";
import { writeOut } from "../lib/cli/write-out.ts";
import { CourierError, RedisRefusedError } from "../lib/errors.ts";
import { safeJson, safeText, shownId } from "../lib/safe-text.ts";
import { commonArgs, EXIT, intArg, printJson, queueArgs, runCli, UsageError } from "./_cli.ts";
import { deletedJson, eachChunk, notDone, requeuedJson, stoppedAnswer } from "./_dead-answers.ts";

const json = { type: "boolean", description: "Print JSON instead of text" } as const;

/** How `-` reads ids, as `cancel -` does (bin/_dead-answers.ts). */
const STDIN_IDS =
  "- reads them from stdin, one a line, 1,000 at a time as they come (a line that is no job id is reported with its number, the others done, exit 2 at the end; an id repeated in a later 1,000 is answered again)";

/** Connects, runs `fn`, closes. */
async function withAdmin(args: Record<string, unknown>, fn: (a: Admin) => Promise<void>) {
  const admin = await Admin.connect(queueArgs(args));
  try {
    await fn(admin);
  } finally {
    await admin.close();
  }
}

const listCommand = defineCommand({
  meta: {
    name: "list",
    description: "Dead letters, newest first: id, task, attempts, when, error.",
  },
  args: {
    limit: { type: "string", description: "Letters shown, newest first (1-500; default 20)" },
    cursor: {
      type: "string",
      description:
        "Start after the page that printed it (`next` with --json): a letter's entry id, and with more than one shard `:<shard>`, so pages go on across shards, newest first",
    },
    json,
    ...commonArgs,
  },
  async run({ args }) {
    const limit = intArg(args.limit, "limit", 1, 500) ?? 20;
    const cursor = args.cursor === undefined ? null : String(args.cursor);
    if (cursor !== null && !isDeadCursor(cursor)) {
      throw new UsageError("--cursor must be the `next` a previous page printed");
    }
    await withAdmin(args, (admin) => list(admin, limit, cursor, Boolean(args.json)));
  },
});

const showCommand = defineCommand({
  meta: {
    name: "show",
    description: `A dead letter (error, payload) and the job's attempts. Exit ${EXIT.notFound} when the id has no dead letter; ${EXIT.connect} when its job's record or failed value is a key of another type (the letter, then a line naming the key).`,
  },
  args: {
    id: { type: "positional", description: "The job's id", required: true },
    json,
    ...commonArgs,
  },
  async run({ args }) {
    if ((args._ as string[]).length !== 1) throw new UsageError("show takes one job id");
    await withAdmin(args, (admin) => show(admin, args.id, Boolean(args.json)));
  },
});

const requeueCommand = defineCommand({
  meta: {
    name: "requeue",
    description: `Run dead jobs again with a fresh attempt count: ID… or --all. Atomic (never both dead and queued); the history keeps the old error. Exit ${EXIT.notFound} when an id has no dead letter; ${EXIT.connect} when Redis refuses one's keys (its shard's, or its job's record or failed value, of another type: its own line, the other ids still done). Letters go in calls of at most 1 MiB: when a later call fails, the ids done are printed and each other one says \`failed: <cause>\` (--all: the count, then why the rest was not requeued), exit that failure's code (${EXIT.full} a full Redis).`,
  },
  args: {
    ids: { type: "positional", description: `Job ids (or --all); ${STDIN_IDS}`, required: false },
    all: { type: "boolean", description: "Every dead job" },
    json,
    ...commonArgs,
  },
  async run({ args }) {
    const ids = args._ as string[];
    if (args.all && ids.length > 0)
      throw new UsageError("requeue takes job ids or --all, not both");
    if (!args.all && ids.length === 0) throw new UsageError("requeue takes job ids, or --all");
    await withAdmin(args, (admin) =>
      args.all ? requeueAll(admin, Boolean(args.json)) : requeue(admin, ids, Boolean(args.json)),
    );
  },
});

const deleteCommand = defineCommand({
  meta: {
    name: "delete",
    description: `Delete dead jobs for good: each letter, and the job's failed outcome and record; an id given twice is deleted and printed once. Exit ${EXIT.notFound} when an id has no dead letter; ${EXIT.connect} when Redis refuses one's keys (its shard's, or its job's record or failed value, of another type: its own line, the other ids still done). When one shard's call fails after another's was done, each of its ids says \`failed: <cause>\`, exit that failure's code.`,
  },
  args: {
    ids: { type: "positional", description: `Job ids; ${STDIN_IDS}`, required: false },
    json,
    ...commonArgs,
  },
  async run({ args }) {
    const ids = args._ as string[];
    if (ids.length === 0) throw new UsageError("delete takes job ids");
    await withAdmin(args, (admin) => remove(admin, ids, Boolean(args.json)));
  },
});

const purgeCommand = defineCommand({
  meta: {
    name: "purge",
    description:
      "Delete dead letters older than a duration (7d, 12h, 30m, 45s, 1d12h), or all of them.",
  },
  args: {
    "older-than": {
      type: "string",
      description:
        "Only letters older than this (7d, 12h, 30m, 45s; more than 0: to delete every letter say --all)",
    },
    all: { type: "boolean", description: "Every dead letter" },
    json,
    ...commonArgs,
  },
  async run({ args }) {
    const olderThan = args["older-than"] ? parseDuration(args["older-than"]) : undefined;
    // Deleting every dead letter is not what a bare `purge` should do by accident.
    if (args.all && olderThan !== undefined) {
      throw new UsageError("purge takes --older-than DURATION or --all, not both");
    }
    // `--older-than 0s` is every letter: a typo away from `--all`, so it must be said as --all.
    if (olderThan === 0) {
      throw new UsageError(
        `--older-than ${args["older-than"]} is every dead letter: say --all to delete them all`,
      );
    }
    if (!args.all === (olderThan === undefined)) {
      throw new UsageError(
        "purge takes --older-than DURATION, or --all to delete every dead letter",
      );
    }
    await withAdmin(args, (admin) => purge(admin, olderThan, Boolean(args.json)));
  },
});

const command = defineCommand({
  meta: {
    name: "dead",
    description:
      "Jobs that failed for good: list, show ID, requeue ID…|--all, delete ID…, purge --older-than DURATION|--all.",
  },
  subCommands: {
    list: listCommand,
    show: showCommand,
    requeue: requeueCommand,
    delete: deleteCommand,
    purge: purgeCommand,
  },
});

async function list(
  admin: Admin,
  limit: number,
  cursor: string | null,
  json: boolean,
): Promise<void> {
  const page = await admin.deadLetters({ limit, cursor });
  if (json)
    printJson({ total: page.total, letters: page.letters.map(letterJson), next: page.next });
  else print(formatDeadPage(page, await admin.redisNow())); // letters' ages on Redis' clock
}

async function show(admin: Admin, id: string, json: boolean): Promise<void> {
  const letter = await admin.deadLetter(id);
  if (!letter) throw new CourierError("ENOTFOUND", `no dead letter for job ${shownId(id)}`);
  const job = await admin.job(letter.id);
  if (json) printJson(deadLetterJson(letter, job));
  else print(formatDeadLetter(letter, job));
  // No record may be its expiry, or its record or failed value of another type (read as absent):
  // that is said, as `result` says it, exit 6; the letter is shown all the same.
  const unreadable = job ? null : await admin.unreadableJob(letter.id);
  if (unreadable !== null) throw new RedisRefusedError(unreadable);
}

async function requeue(admin: Admin, given: string[], json: boolean): Promise<void> {
  // An id given twice (within a chunk of stdin) is requeued, and said, once (Admin.requeue).
  const say = async (d: RequeueResult) => {
    if (json) await writeOut(`${safeJson(requeuedJson(d))}\n`);
    else if (d.verdict === "requeued") await writeOut(`${safeText(d.id)}\n`);
    else notDone(d);
  };
  process.exitCode = await eachChunk(given, (ids) => admin.requeue(ids), say, "requeued");
}

async function requeueAll(admin: Admin, json: boolean): Promise<void> {
  const tally = await admin.requeueAllTally();
  const { requeued: count, unreadable } = tally;
  const stopped = stoppedAnswer(tally);
  const failed = stopped ? { failed: stopped.reason } : {};
  if (json) printJson({ requeued: count, ...(unreadable > 0 ? { unreadable } : {}), ...failed });
  else print(`requeued ${count} dead job${count === 1 ? "" : "s"}`);
  // Letters left because a job's key holds another type: said, as `requeue ID` says each (exit 6).
  const left = unreadableLeftLine(tally);
  if (left !== null) {
    if (!json) process.stderr.write(`dead: ${left}\n`);
    process.exitCode = EXIT.connect;
  }
  // A call that failed after others were done: what was done is said above, then why it stopped.
  if (stopped === null) return;
  if (!json) process.stderr.write(`dead: ${stopped.line}\n`);
  process.exitCode = stopped.code;
}

async function remove(admin: Admin, given: string[], json: boolean): Promise<void> {
  // An id given twice (within a chunk of stdin) is deleted, and said, once (Admin.deleteDead).
  const say = async (d: DeleteResult) => {
    if (json) await writeOut(`${safeJson(deletedJson(d))}\n`);
    else if (d.verdict === "deleted") await writeOut(`${safeText(d.id)}\n`);
    else notDone(d);
  };
  process.exitCode = await eachChunk(given, (ids) => admin.deleteDeadEach(ids), say, "deleted");
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

export { command };

if (import.meta.main) await runCli(command);
