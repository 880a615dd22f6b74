// The value of `r:<id>`, a job's outcome (docs/internals.md, "The outcome value"): the one place that
// builds and reads it. A kept result carries task and payload too: the entry is gone by then,
// and `result` and the dashboard show them.
//   finished: F<end ms> <run ms> <attempt> <max> <enqueued ms|-> <worker JSON>\n<task JSON>\n<payload>\n<result JSON>
//   failed:   X<end ms> <run ms|-> <attempt|-> <max|-> <enqueued ms|-> <letter id|-> <worker JSON>\n<task JSON>\n<payload>\n<error>
//   canceled: C<end ms> <attempt|-> <max|-> <enqueued ms|-> <worker JSON>\n<task JSON>\n<payload>\n<where it was>
// (the canceled value is made in Lua by cancel.lua: the job's state when it was canceled,
// queued, scheduled, retrying, parked or started; the worker is the one running it, or "").
// The end time is Redis' (finish.lua prepends `F<now> `; the failed value is made in Lua by
// failed_value in lua/dead.lua); the run's start is end - run ms, measured on the worker's
// monotonic clock. Worker and task are JSON strings (they may hold spaces or newlines; JSON
// has none raw), the payload has raw CR/LF made spaces (oneLine), so only the last part is
// free text.

export interface OutcomeValue {
  status: "finished" | "failed" | "canceled";
  endedAt: number;
  /** How long the run took (ms), null when there was no run (a buried entry). */
  runMs: number | null;
  attempt: number | null;
  maxAttempts: number | null;
  /** null: unknown here (an auto id's ms, or the record's `q`, tell it). */
  enqueuedAt: number | null;
  /** The dead letter's entry id (failed only). */
  letter: string | null;
  worker: string | null;
  task: string;
  /** The payload as stored (JSON text). */
  payload: string;
  /** The result JSON (finished), the error (failed), or where the job was (canceled). */
  text: string;
}

/**
 * A raw newline would end the payload's part early. In valid JSON a raw CR or LF can only be
 * whitespace between tokens (inside a string it must be escaped), so each becomes a space: a
 * pretty-printed payload stays valid JSON with the same value (an escape `\n` there would not).
 */
function oneLine(text: string): string {
  // indexOf rather than a regular expression test: this runs for every finished job.
  const raw = text.indexOf("\n") >= 0 || text.indexOf("\r") >= 0;
  return raw ? text.replace(/[\r\n]/g, " ") : text;
}

/**
 * The JSON of the last worker name and of the last task name: a batch repeats one worker and,
 * mostly, one task, so each is encoded once rather than once per job.
 */
const lastJson = { worker: "", workerJson: '""', task: "", taskJson: '""' };

function workerJson(worker: string): string {
  if (worker !== lastJson.worker) {
    lastJson.workerJson = JSON.stringify(worker);
    lastJson.worker = worker;
  }
  return lastJson.workerJson;
}

function taskJson(task: string): string {
  if (task !== lastJson.task) {
    lastJson.taskJson = JSON.stringify(task);
    lastJson.task = task;
  }
  return lastJson.taskJson;
}

/** What the worker sends finish.lua for a job; the script prepends `F<end ms> `. */
export function runTail(
  runMs: number,
  attempt: number,
  maxAttempts: number,
  enqueuedAt: number | null,
  worker: string,
  task: string,
  payload: string,
  result: string,
): string {
  const enqueued = enqueuedAt === null ? "-" : String(enqueuedAt);
  const head = `${Math.max(0, Math.round(runMs))} ${attempt} ${maxAttempts} ${enqueued}`;
  return `${head} ${workerJson(worker)}\n${taskJson(task)}\n${oneLine(payload)}\n${result}`;
}

function num(v: string | undefined): number | null {
  return v === undefined || !/^\d{1,15}$/.test(v) ? null : Number(v);
}

function jsonString(v: string | undefined): string | null {
  try {
    const s = JSON.parse(v ?? "");
    return typeof s === "string" && s !== "" ? s : null;
  } catch {
    return null;
  }
}

/** Parts split at the first three newlines; the last keeps its own. */
function lines(value: string): string[] | null {
  const out: string[] = [];
  let rest = value;
  for (let i = 0; i < 3; i++) {
    const at = rest.indexOf("\n");
    if (at < 0) return null;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  out.push(rest);
  return out;
}

const KINDS = { F: "finished", X: "failed", C: "canceled" } as const;

/** Reads an outcome value; null when it is not one (a key written by something else). */
export function parseOutcome(value: string): OutcomeValue | null {
  const kind = value[0];
  if (kind !== "F" && kind !== "X" && kind !== "C") return null;
  if (kind === "C") return parseCanceled(value);
  const parts = lines(value.slice(1));
  if (!parts) return null;
  const [header, task, payload, text] = parts as [string, string, string, string];
  const numbers = kind === "F" ? 5 : 6;
  const tokens = header.split(" ");
  if (tokens.length <= numbers) return null;
  const endedAt = num(tokens[0]);
  if (endedAt === null) return null;
  return {
    status: KINDS[kind],
    endedAt,
    runMs: num(tokens[1]),
    attempt: num(tokens[2]),
    maxAttempts: num(tokens[3]),
    enqueuedAt: num(tokens[4]),
    letter: kind === "X" && tokens[5] !== "-" ? (tokens[5] ?? null) : null,
    worker: jsonString(tokens.slice(numbers).join(" ")),
    task: jsonString(task) ?? "",
    payload,
    text,
  };
}

/** A canceled value: no run time and no letter; the last part says where the job was. */
function parseCanceled(value: string): OutcomeValue | null {
  const parts = lines(value.slice(1));
  if (!parts) return null;
  const [header, task, payload, text] = parts as [string, string, string, string];
  const tokens = header.split(" ");
  const endedAt = num(tokens[0]);
  if (tokens.length <= 4 || endedAt === null) return null;
  return {
    status: "canceled",
    endedAt,
    runMs: null,
    attempt: num(tokens[1]),
    maxAttempts: num(tokens[2]),
    enqueuedAt: num(tokens[3]),
    letter: null,
    worker: jsonString(tokens.slice(4).join(" ")),
    task: jsonString(task) ?? "",
    payload,
    text,
  };
}
