// What a recurring schedule is (docs/internals.md, "Recurring schedules"): its definition as
// given (checked here, before Redis is contacted: a mistake is one line, exit 2) and as stored
// in the `defs` hash (JSON, read back defensively: a corrupt one is skipped alone).
import { Cron } from "croner";
import { parseDuration } from "../admin/duration.ts";
import { QUEUE_NAME } from "../config.ts";
import { DOT_SEGMENT_REASON, isDotSegment } from "../dot-segment.ts";
import { InputError } from "../errors.ts";
import { keysOf, kind } from "../option-keys.ts";
import { jsonDepthProblem, PAYLOAD_DEPTH_MAX } from "../queue/payload-depth.ts";
import { payloadJson } from "../queue/payload-json.ts";
import { shownInput } from "../safe-text.ts";
import { taskNameProblem } from "../task-check.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import { wordCountPayload } from "../tasks/wordcount/payload.ts";

/**
 * What a schedule does with ticks that passed while nothing ran (no worker, no scheduler):
 * `once` (the default) enqueues one job for the latest of them on return, so a daily report
 * still runs after a night's outage, but a week away does not make seven; `skip` drops them
 * and waits for the next tick. A tick at most LATE_MS late counts as on time, not missed.
 */
export type MissedPolicy = "once" | "skip";
export const MISSED_POLICIES: readonly MissedPolicy[] = ["once", "skip"];

/** A schedule as stored (the `defs` hash's JSON). */
export interface ScheduleDef {
  queue: string;
  /** Fixed spacing (ms): ticks at `created_at + k * every_ms`, k >= 1. */
  every_ms?: number;
  /** A cron expression (croner: 5 fields, or 6 with seconds first). */
  cron?: string;
  /** The IANA time zone the cron expression is read in (UTC when not given). */
  tz?: string;
  task: string;
  payload: unknown;
  missed: MissedPolicy;
  paused: boolean;
  /** Redis' ms when it was added: the anchor of an `every` schedule. */
  created_at: number;
}

/** A schedule as a caller gives it (Schedules.add, `schedule.ts add`). */
export interface ScheduleSpec {
  /** 1-64 letters, digits or `_.-`: it is in the job ids the schedule makes. */
  name: string;
  /** Default: the `default` queue. */
  queue?: string;
  /** Fixed spacing: ms, or a duration (`30s`, `5m`, `1h`); whole seconds, from 1 s to 366 d. Or `cron`. */
  every?: number | string;
  /** A cron expression, e.g. `*\/5 * * * *` (6 fields: seconds first). Or `every`. */
  cron?: string;
  /** Time zone of the cron expression (default UTC: every host reads it alike). */
  tz?: string;
  task: string;
  /** Any JSON value, at most SCHEDULE_PAYLOAD_MAX_BYTES (1 MiB) of JSON. */
  payload?: unknown;
  missed?: MissedPolicy;
}

export const SCHEDULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** ScheduleSpec's keys: a schedule stores these only. */
const SPEC_KEYS = keysOf<ScheduleSpec>()([
  "name",
  "queue",
  "every",
  "cron",
  "tz",
  "task",
  "payload",
  "missed",
]);
/**
 * The largest payload a schedule stores (its JSON), as `trigger --payload-file` takes: every
 * tick copies it into a job, and every scheduler's pass that fires it reads it.
 */
export const SCHEDULE_PAYLOAD_MAX_BYTES = 1024 * 1024;
const EVERY_MIN_MS = 1_000;
const EVERY_MAX_MS = 366 * 86_400_000;

/**
 * `pages`' arguments, before anything is read: a size of 0 reached Redis as `COUNT 0` (a raw
 * syntax error), a queue of 5 or a skip that is no function were taken. At most `most` a page,
 * as every paged read of Courier's.
 */
export function checkPagesArgs(queue: unknown, size: unknown, skip: unknown, most: number): void {
  if (queue !== undefined) checkQueueArg(queue, "pages");
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > most) {
    throw new InputError(`pages' size must be a whole number from 1 to ${most}, got ${kind(size)}`);
  }
  if (skip !== undefined && typeof skip !== "function") {
    throw new InputError(`pages' skip must be a function, got ${kind(skip)}`);
  }
}

/** A queue's name as a call takes it (`pages`, `count`): InputError otherwise (5 read nothing). */
export function checkQueueArg(queue: unknown, call: string): void {
  const named = typeof queue === "string" && QUEUE_NAME.test(queue);
  if (!named) {
    throw new InputError(
      `${call}: ${kind(queue)} is no queue name (1-100 letters, digits or _.:-)`,
    );
  }
}

/** A schedule's name as a call takes it (get, remove, pause, resume): text; InputError otherwise. */
export function checkName(name: unknown, call: string): asserts name is string {
  if (typeof name !== "string") {
    throw new InputError(`${call}: a schedule name must be a string, got ${kind(name)}`);
  }
}

/** Checks a spec; the definition to store (created_at filled by the caller). Throws InputError. */
export function checkSpec(
  spec: ScheduleSpec,
  defaultQueue: string,
): Omit<ScheduleDef, "created_at"> {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new InputError(`a schedule must be an object { name, task, … }, got ${kind(spec)}`);
  }
  // Stored without it, a key Courier does not know was dropped unsaid: `timezone` for `tz` ran
  // the cron in UTC. (`replace` is add's second argument.)
  const unknown = Object.keys(spec).find((key) => !SPEC_KEYS.includes(key));
  if (unknown !== undefined) {
    const where =
      unknown === "replace" ? " (replace goes in add's options: add(spec, { replace: true }))" : "";
    throw new InputError(
      `a schedule has no ${shownInput(unknown)}: it takes ${SPEC_KEYS.join(", ")}${where}`,
    );
  }
  if (typeof spec.name !== "string" || !SCHEDULE_NAME.test(spec.name)) {
    throw new InputError(
      `schedule name must be 1-64 letters, digits or _.-, got ${kind(spec.name)}`,
    );
  }
  if (isDotSegment(spec.name)) {
    throw new InputError(`schedule name must not be . or ..: ${DOT_SEGMENT_REASON}`);
  }
  // Only undefined is "not given" (as for every option): null or 123 is no queue name.
  const queue = spec.queue === undefined ? defaultQueue : spec.queue;
  if (typeof queue !== "string" || !QUEUE_NAME.test(queue)) {
    throw new InputError(`${kind(queue)} is no queue name (1-100 letters, digits or _.:-)`);
  }
  if ((spec.every === undefined) === (spec.cron === undefined)) {
    throw new InputError("a schedule needs one of every (e.g. 5m) or cron (e.g. '*/5 * * * *')");
  }
  if (typeof spec.task !== "string" || spec.task === "") {
    throw new InputError("a schedule needs a task name (no spaces or control characters)");
  }
  const problem = taskNameProblem(spec.task);
  if (problem) throw new InputError(`a schedule's task: ${problem}`);
  const bytes = Buffer.byteLength(payloadJson(spec.payload));
  if (bytes > SCHEDULE_PAYLOAD_MAX_BYTES) {
    throw new InputError(
      `a schedule's payload is ${bytes} bytes of JSON, over ${SCHEDULE_PAYLOAD_MAX_BYTES} (1 MiB): keep big data elsewhere and pass a reference to it`,
    );
  }
  const missed = spec.missed ?? "once";
  if (!MISSED_POLICIES.includes(missed)) {
    throw new InputError(`missed must be once or skip, got ${kind(missed)}`);
  }
  const when =
    spec.every !== undefined
      ? { every_ms: everyMs(spec.every, spec.tz) }
      : { cron: checkCron(spec.cron as string, spec.tz), ...(spec.tz ? { tz: spec.tz } : {}) };
  // The built-in task by name: its payload checked and normalised as the CLI's (payload.ts).
  const payload =
    spec.task === WORDCOUNT_TASK ? wordCountPayload(spec.payload) : (spec.payload ?? null);
  return { queue, ...when, task: spec.task, payload, missed, paused: false };
}

function everyMs(every: number | string, tz: string | undefined): number {
  if (tz !== undefined) throw new InputError("tz goes with cron only (every is a fixed spacing)");
  let ms = Number.NaN; // neither ms nor a duration: refused below
  if (typeof every === "number") ms = every;
  else if (typeof every === "string") ms = parseDuration(every);
  if (!Number.isInteger(ms) || ms < EVERY_MIN_MS || ms > EVERY_MAX_MS) {
    throw new InputError(`every must be from 1s to 366d, got ${kind(every)}`);
  }
  // Whole seconds: lists say an interval in whole units (`every 1s` of 1.5 s would mislead).
  if (ms % 1_000 !== 0) {
    throw new InputError(`every must be whole seconds, got ${kind(every)}`);
  }
  return ms;
}

/** The expression, once croner has parsed it and found a next run (in `tz`). */
/**
 * The longest cron expression taken: far past any real one (six fields of lists), short enough
 * that a page of definitions stays small (every pass and listing reads them; 4 MB were taken).
 */
export const CRON_MAX_LENGTH = 1_000;

function checkCron(expression: string, tz: string | undefined): string {
  if (typeof expression !== "string") {
    throw new InputError(`cron must be a cron expression (a string), got ${kind(expression)}`);
  }
  if (expression.length > CRON_MAX_LENGTH) {
    throw new InputError(
      `cron is ${expression.length} characters, over ${CRON_MAX_LENGTH}: not a cron expression`,
    );
  }
  if (tz !== undefined) checkTimeZone(tz);
  // croner also takes a 7th field (a year): not what a cron expression says elsewhere.
  const fields = expression.trim().split(/\s+/).length;
  if (!expression.trim().startsWith("@") && fields !== 5 && fields !== 6) {
    throw new InputError(
      `cron "${shownInput(expression)}" is not a cron expression: it has ${fields} fields, not 5 (minute hour day month weekday) or 6 (seconds first)`,
    );
  }
  let next: Date | null;
  try {
    next = cronOf(expression, tz).nextRun();
  } catch (err) {
    const why = String((err as Error).message ?? err).replace(/^CronPattern: /, "");
    throw new InputError(
      `cron "${shownInput(expression)}" is not a cron expression: ${shownInput(why, 160)}`,
    );
  }
  if (next === null) throw new InputError(`cron "${shownInput(expression)}" never runs`);
  return expression;
}

function checkTimeZone(tz: string): void {
  if (typeof tz !== "string") throw new InputError(`tz must be a time zone name, got ${kind(tz)}`);
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
  } catch {
    throw new InputError(
      `tz "${shownInput(tz)}" is not a time zone (an IANA name, e.g. Europe/Paris)`,
    );
  }
}

/**
 * A croner job that never runs by itself (we only ask it for times), in `tz` or UTC. Across DST,
 * times with no wildcard or step in seconds, minutes and hours (lists and ranges too: `0,30 2`)
 * are fixed, as in Vixie cron: one in the skipped hour runs at its end, one repeated runs once
 * (croner's default, one value a field, gave `0,30 2 * * *` no job in spring and two in autumn).
 */
export function cronOf(expression: string, tz: string | undefined): Cron {
  const o = { paused: true, timezone: tz ?? "UTC", fixedTimeRule: "no-wildcard" } as const;
  return new Cron(expression, o);
}

/** A stored definition, or null when it is not one (a corrupt value is skipped alone). */
export function parseDef(text: string | null | undefined): ScheduleDef | null {
  if (typeof text !== "string") return null;
  // Nested past any payload's depth (a hand edit: saving refuses it), its tick's enqueue took
  // JSON.stringify 5 s to refuse, the worker's event loop blocked, and listing it threw. The
  // definition wraps its payload in one object: a payload at the limit is one level deeper here.
  if (jsonDepthProblem(text, "payload", PAYLOAD_DEPTH_MAX + 1) !== undefined) return null;
  let v: Partial<ScheduleDef>;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null || typeof v.queue !== "string") return null;
  if (typeof v.task !== "string" || typeof v.created_at !== "number") return null;
  if (!MISSED_POLICIES.includes(v.missed as MissedPolicy)) return null;
  const every = typeof v.every_ms === "number" && v.every_ms >= EVERY_MIN_MS;
  if (every === (typeof v.cron === "string")) return null;
  if (v.tz !== undefined && typeof v.tz !== "string") return null;
  return { ...(v as ScheduleDef), paused: v.paused === true };
}

/** How a schedule is said in lists: `every 5m`, or `cron <expression>` and its zone in brackets. */
export function whenText(def: ScheduleDef, format: (ms: number) => string): string {
  if (def.every_ms !== undefined) return `every ${format(def.every_ms)}`;
  return `cron ${def.cron}${def.tz ? ` (${def.tz})` : ""}`;
}
