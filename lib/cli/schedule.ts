// `schedule.ts`: the spec an `add` gives (checked before Redis is contacted), and the text and
// JSON of a list. bin/schedule.ts parses arguments and prints.
import { formatDuration } from "../admin/duration.ts";
import { InputError } from "../errors.ts";
import { safeJson, safeText } from "../safe-text.ts";
import type { ScheduleInfo, Schedules } from "../schedule/schedules.ts";
import { type MissedPolicy, type ScheduleSpec, whenText } from "../schedule/spec.ts";
import { validatePayload } from "../tasks/wordcount/index.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import { isoOrNull } from "../time.ts";
import { columnWidths, padRows } from "./table.ts";
import { wordCountArg } from "./trigger-args.ts";
import { parsePayload, taskNameProblem } from "./trigger-job.ts";

export interface AddArgs {
  name: string;
  every?: string;
  cron?: string;
  tz?: string;
  url?: string;
  task?: string;
  payload?: string;
  queue?: string;
  missed?: string;
}

/** The spec of `add`: one of --every/--cron, one of --url/--task (InputError: exit 2). */
export function addSpec(a: AddArgs): ScheduleSpec {
  if ((a.every === undefined) === (a.cron === undefined)) {
    throw new InputError("give one of --every (e.g. 5m) or --cron (e.g. '*/5 * * * *')");
  }
  if (a.tz !== undefined && a.cron === undefined) throw new InputError("--tz goes with --cron");
  if ((a.url === undefined) === (a.task === undefined)) {
    throw new InputError(
      "give one of --url URL (the word-count task) or --task NAME [--payload JSON]",
    );
  }
  if (a.url !== undefined && a.payload !== undefined) {
    throw new InputError("--payload goes with --task (--url is the word-count task's payload)");
  }
  if (a.missed !== undefined && a.missed !== "once" && a.missed !== "skip") {
    throw new InputError(`--missed must be once or skip, got "${a.missed.slice(0, 20)}"`);
  }
  const job =
    a.url !== undefined
      ? { task: WORDCOUNT_TASK, payload: validatePayload({ url: a.url }) }
      : taskJob(checkedTask(a.task as string), a.payload);
  return {
    name: a.name,
    ...(a.every !== undefined ? { every: a.every } : { cron: a.cron, tz: a.tz }),
    ...job,
    queue: a.queue,
    missed: a.missed as MissedPolicy | undefined,
  };
}

/**
 * `--task NAME [--payload JSON]`; the word-count task by name has its payload checked as
 * `trigger --task wordcount` checks it (a URL with a password was stored, then failed each tick).
 */
function taskJob(task: string, text: string | undefined): { task: string; payload: unknown } {
  const payload = text === undefined ? null : parsePayload(text);
  return { task, payload: task === WORDCOUNT_TASK ? wordCountArg(payload) : payload };
}

function checkedTask(task: string): string {
  const problem = taskNameProblem(task);
  if (problem) throw new InputError(problem);
  return task;
}

/** One schedule as `list --json` and `add --json` print it. */
export function scheduleJson(s: ScheduleInfo): Record<string, unknown> {
  const d = s.def;
  if (d === null) return { name: s.name, corrupt: true };
  return {
    name: s.name,
    queue: d.queue,
    ...(d.every_ms !== undefined ? { every_ms: d.every_ms } : { cron: d.cron, tz: d.tz ?? "UTC" }),
    task: d.task,
    payload: d.payload,
    missed: d.missed,
    paused: d.paused,
    next: isoOrNull(s.next),
  };
}

const HEAD = ["NAME", "QUEUE", "WHEN", "TASK", "MISSED", "NEXT"];

/**
 * `list`: the schedules written a page at a time as they are read (the memory of one page,
 * however many there are; `write` may return a promise: the next page is read once it
 * settles): a table whose columns are as wide as the first page needs (a longer cell later
 * pushes its own row only), or one JSON object `{ schedules: [...] }`.
 */
export async function writeSchedules(
  pages: AsyncIterable<ScheduleInfo[]>,
  json: boolean,
  write: (text: string) => unknown,
): Promise<void> {
  let widths: number[] | null = null;
  let any = false;
  // Nothing is written before the first page is read: an error there (Redis gone, a key of all
  // queues' of another type) leaves stdout empty; one on a later page leaves the output cut
  // short: a JSON document left unclosed, which no reader can parse as whole (never closed in
  // a `finally`). One queue's key of another type is no error (listSchedules skips that queue).
  for await (const page of pages) {
    if (page.length === 0) continue;
    if (json) {
      await write(
        (any ? "," : '{"schedules":[') + page.map((s) => safeJson(scheduleJson(s))).join(","),
      );
    } else {
      const rows = page.map(scheduleRow);
      widths ??= columnWidths([HEAD, ...rows]);
      await write(`${padRows(any ? rows : [HEAD, ...rows], widths).join("\n")}\n`);
    }
    any = true;
  }
  if (json) await write(any ? "]}\n" : '{"schedules":[]}\n');
  else if (!any) await write("no schedules\n");
}

/**
 * `list`: the schedules as writeSchedules writes them, but for a queue whose key of schedules
 * holds another type (another program's key): left out, never stalling the others nor cutting
 * the output short. Returns a line for each key so skipped, once each (stderr; exit 6).
 */
export async function listSchedules(
  s: Schedules,
  queue: string | undefined,
  json: boolean,
  write: (text: string) => unknown,
): Promise<string[]> {
  const skipped = new Map<string, string>(); // key → its queue
  await writeSchedules(
    s.pages(queue, undefined, (q, key) => skipped.set(key, q)),
    json,
    write,
  );
  return [...skipped].map(
    ([key, q]) =>
      `queue ${safeText(q)} not listed: key ${safeText(key)} holds another type than Courier writes (WRONGTYPE); another program uses these keys: give Courier its own --prefix, or delete that key`,
  );
}

export function scheduleRow(s: ScheduleInfo): string[] {
  const d = s.def;
  if (d === null) return [safeText(s.name), "-", "(not a definition Courier wrote)", "-", "-", "-"];
  const next = d.paused ? "paused" : (isoOrNull(s.next) ?? "none (it ends)");
  const when = safeText(whenText(d, formatDuration));
  return [safeText(s.name), safeText(d.queue), when, safeText(d.task), d.missed, next];
}
