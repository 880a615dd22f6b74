// A task's definition, checked where it is made (defineTask) and where it is used (Worker.start,
// runTask), as the CLI checks a task module's: a task a worker could not run, or run under the
// wrong time limit, is refused at once (ConfigError, one line), not found out job by job. And the
// rule for a new job's task name (taskNameProblem).
import { INTERVAL_LIMIT_MS } from "./config.ts";
import { ConfigError, callQuietly, InputError } from "./errors.ts";
import { keysOf, kind, respelt } from "./option-keys.ts";
import { nameShowsAll, safeName, shownInput } from "./safe-text.ts";
import type { Task } from "./types.ts";

/** The longest task name (the name is in keys: `parked:<task>`, `alive_until:<task>`). */
export const TASK_NAME_MAX = 100;

/**
 * Why `name` is no name for a new job's task, or undefined: 1 to 100 characters, no whitespace
 * and nothing safeText escapes or that shows nothing (control characters, bidi marks and
 * overrides, invisible characters: a name read one way and stored another, R-192;
 * nameShowsAll; the joiners and variation selectors emoji are made of are names' as before). The rule of what is made from now
 * on, the library's and the CLI's alike: a job enqueued (Queue.enqueue and the bulk calls), a
 * schedule saved (Schedules.add), `trigger --task`, `--then`, `schedule add --task`. A worker
 * serves any name (defineTask, Worker.start, runTask take any non-empty one), and a schedule
 * saved before fires under its name: jobs and schedules an earlier Courier took are never
 * stranded by it.
 */
export function taskNameProblem(name: string): string | undefined {
  if (name.length > TASK_NAME_MAX) return `a task name is at most ${TASK_NAME_MAX} characters`;
  if (/\s/.test(name) || !nameShowsAll(name)) {
    return `"${safeName(name)}" is not a task name: no spaces or control characters`;
  }
  return undefined;
}

/**
 * Refuses a run-time limit (a task's `timeoutMs`, runTask's) that is no whole number from 1 to
 * INTERVAL_LIMIT_MS, the rule of `jobTimeoutMs`, or Infinity (no limit, as a worker always took
 * it): NaN would never time out (and tick the worker's deadline check every 5 ms), a negative
 * or a huge finite one would end the run at once (a timer past 2^31 - 1 ms fires at once).
 */
export function checkTimeoutMs(v: unknown, what: string): void {
  if (v === undefined || v === Number.POSITIVE_INFINITY) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > INTERVAL_LIMIT_MS) {
    throw new ConfigError(
      `${what} must be a whole number of ms from 1 to ${INTERVAL_LIMIT_MS}, or Infinity (no limit), got ${kind(v)}`,
    );
  }
}

/** Refuses what is not a task: an object with a non-empty string name and a run function. */
export function checkTask(task: unknown): void {
  if (typeof task !== "object" || task === null) {
    throw new ConfigError(`a task must be an object { name, run }, got ${kind(task)}`);
  }
  const t = task as Partial<Task>;
  if (typeof t.name !== "string" || t.name === "") {
    throw new ConfigError(`a task's name must be a non-empty string, got ${kind(t.name)}`);
  }
  const named = `task "${shownInput(t.name)}"`;
  if (typeof t.run !== "function") {
    throw new ConfigError(`${named} has no run function (got ${kind(t.run)})`);
  }
  for (const key of ["validate", "limitKey"] as const) {
    if (t[key] !== undefined && typeof t[key] !== "function") {
      throw new ConfigError(`${named}: ${key} must be a function, got ${kind(t[key])}`);
    }
  }
  checkTimeoutMs(t.timeoutMs, `${named}: timeoutMs`);
  const meant = respeltKey(t);
  if (meant)
    throw new ConfigError(`${named} has ${shownInput(meant[0])}: did you mean ${meant[1]}?`);
  const elsewhere = elsewhereKey(t);
  if (elsewhere) {
    const [key, whose] = elsewhere;
    throw new ConfigError(
      `${named} has ${shownInput(key)}, which a task does not take: it is ${whose}`,
    );
  }
}

/**
 * Courier's keys that a task might be given but are set elsewhere, and where. Taken as a key of
 * the owner's own, `defineTask({ name: "charge", maxAttempts: 1, run })` ran its jobs under the
 * queue's 3 attempts: a payment meant to be tried once was tried three times.
 */
const ELSEWHERE: Record<string, string> = {
  maxAttempts: "a job's: enqueue's options (or Queue.connect's default for its jobs)",
  priority: "a job's: enqueue's options",
  delayMs: "a job's: enqueue's options",
  runAt: "a job's: enqueue's options",
  dependsOn: "a job's: enqueue's options",
  onParentFailure: "a job's: enqueue's options",
  concurrency: "a worker's: Worker.start's options",
  jobTimeoutMs: "a worker's: Worker.start's options (a task's own limit is timeoutMs)",
  backoffBaseMs: "a worker's: Worker.start's options",
  backoffMaxMs: "a worker's: Worker.start's options",
  maxHolds: "a worker's: Worker.start's options",
};
const ELSEWHERE_KEYS = Object.keys(ELSEWHERE);

/** The first key of `t` that is one of ELSEWHERE (as it is, or spelt another way), and whose it is. */
function elsewhereKey(t: object): [string, string] | undefined {
  for (const key of ownKeys(t)) {
    const meant = ELSEWHERE_KEYS.includes(key) ? key : respelt(key, ELSEWHERE_KEYS);
    if (meant !== undefined) return [key, ELSEWHERE[meant]!];
  }
  return undefined;
}

/** `Object.keys(t)`, none for a Proxy that cannot list them (its name and run were read already). */
function ownKeys(t: object): string[] {
  try {
    return Object.keys(t);
  } catch {
    return [];
  }
}

/** A task's own keys; it may carry others of its owner's (a description, a helper). */
const TASK_KEYS = keysOf<Task>()(["name", "run", "validate", "timeoutMs", "limitKey"]);

/**
 * The first key of `t` that spells one of TASK_KEYS another way (`timeoutMS`, `timeout`,
 * `limit_key`), with the key meant: dropped unsaid, the task ran under the default limit. Keys
 * that cannot be listed (a Proxy) are not looked at: the task's name and run were read already.
 */
function respeltKey(t: object): [string, string] | undefined {
  for (const key of ownKeys(t)) {
    const meant = TASK_KEYS.includes(key) ? undefined : respelt(key, TASK_KEYS);
    if (meant !== undefined) return [key, meant];
  }
  return undefined;
}

/** Refuses a worker's task list that is no array, holds a non-task, or a name twice. */
export function checkTasks(tasks: unknown): void {
  if (!Array.isArray(tasks)) {
    throw new ConfigError(`tasks must be an array of tasks, got ${kind(tasks)}`);
  }
  const names = new Map<string, unknown>();
  for (const task of tasks) {
    checkTask(task);
    const { name } = task as Task;
    if (names.get(name) === task) continue; // the same task listed twice: one task
    if (names.has(name)) {
      throw new ConfigError(
        `tasks holds two tasks named "${shownInput(name)}": give each its own name`,
      );
    }
    names.set(name, task);
  }
}

/**
 * What a task's `validate` or `limitKey` returned, refused when it is a promise (an async
 * function): both run at the enqueue, which goes on at once. Taken as given, the promise was
 * enqueued as the payload (`{}`: every job's data lost) and its rejection, the refusal, reached
 * no one (an unhandled rejection, which ends a process). That rejection is caught here.
 */
export function synchronous<T>(value: T, task: string, what: "validate" | "limitKey"): T {
  let then: unknown;
  try {
    then = (value as { then?: unknown } | null)?.then;
  } catch {
    return value; // a Proxy that throws: the payload's JSON check refuses it
  }
  if (typeof then !== "function") return value;
  callQuietly(() => then.call(value, undefined, () => {}));
  throw new InputError(
    `task "${shownInput(task)}": ${what} returned a promise (an async function?): it runs at the enqueue and must return its answer, or throw, without awaiting`,
  );
}
