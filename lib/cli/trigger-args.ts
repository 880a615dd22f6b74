// `trigger`'s options for one job of any task, and when jobs run: their definitions (for citty
// and --help) and their checks, made before Redis is contacted (one line, exit 2).
import type { ArgsDef } from "citty";
import { callerIdProblem, type Level } from "../engine/keys.ts";
import { InputError } from "../errors.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import { wordCountPayload } from "../tasks/wordcount/payload.ts";
import {
  PAYLOAD_FILE_MAX_BYTES,
  parsePayload,
  readPayloadFile,
  type Schedule,
  scheduleOf,
  taskNameProblem,
} from "./trigger-job.ts";

export const jobArgs = {
  task: {
    type: "string",
    description:
      "Enqueue one job of this task (any name a worker serves; a task no live worker has waits for one). Instead of --url/--file",
  },
  payload: {
    type: "string",
    description:
      "With --task: the job's payload, JSON (a string needs its quotes: '\"text\"'; default null)",
  },
  "payload-file": {
    type: "string",
    description: `With --task: read the payload's JSON from a file (- = standard input), at most ${PAYLOAD_FILE_MAX_BYTES / 1024 / 1024} MiB`,
  },
  delay: {
    type: "string",
    description:
      "Run the jobs no sooner than this from now: a number and a unit, ms s m h d (10m, 1h30m), at most 365d; result shows them as scheduled",
  },
  at: {
    type: "string",
    description:
      "Run the jobs no sooner than this time, ISO 8601 with a zone (2026-12-01T09:00Z, 2026-12-01T10:00+01:00), by Redis' clock; a time already past runs at once. Not with --delay",
  },
  priority: {
    type: "string",
    description:
      "The jobs' priority within the queue: high, normal (default) or low; a worker takes high jobs first, then normal, then low",
  },
  id: {
    type: "string",
    description:
      "The job's id, an idempotency key (1-128 of A-Z a-z 0-9 _ . : -, not . or ..): while a job with this id exists, a trigger with it enqueues nothing, prints that id and says the stored job's status and task on stderr (exit 0; --json: created false, status, task). With --task or --url",
  },
} as const satisfies ArgsDef;

/** What is enqueued: word counts from `url` or `file`, or one job of `task`. */
export interface JobInput {
  url?: string;
  file?: string;
  task?: string;
}

/** One job of any task, or word counts (`task` undefined), and when they run. */
export interface TriggerJob {
  task?: string;
  payload?: unknown;
  id?: string;
  /** When the jobs run, and their priority level. */
  schedule: Schedule & { priority?: Level };
  /** The payload was read from standard input (to be let go of at the end). */
  fromStdin: boolean;
}

/** Checks the job options against the input; reads the payload (before Redis is contacted). */
export async function jobOf(args: Record<string, unknown>, input: JobInput): Promise<TriggerJob> {
  const text = str(args.payload);
  const file = str(args["payload-file"]);
  if (input.task === undefined && (text !== undefined || file !== undefined)) {
    throw new InputError(`--${text !== undefined ? "payload" : "payload-file"} goes with --task`);
  }
  if (text !== undefined && file !== undefined) {
    throw new InputError("give --payload or --payload-file, not both");
  }
  const id = idOf(args, input);
  const schedule = { ...scheduleOf(str(args.delay), str(args.at)), ...priorityOf(args) };
  if (input.task === undefined) return { id, schedule, fromStdin: false };
  const problem = taskNameProblem(input.task);
  if (problem) throw new InputError(problem);
  const payload =
    file !== undefined
      ? await readPayloadFile(file)
      : text !== undefined
        ? parsePayload(text)
        : null;
  const checked = input.task === WORDCOUNT_TASK ? wordCountArg(payload) : payload;
  return { task: input.task, payload: checked, id, schedule, fromStdin: file === "-" };
}

/** `--priority high|normal|low`; normal is no option at all (the job as before). */
function priorityOf(args: Record<string, unknown>): { priority?: Level } {
  const p = str(args.priority);
  if (p === undefined || p === "normal") return {};
  if (p !== "high" && p !== "low") {
    throw new InputError(`--priority must be high, normal or low, got "${p.slice(0, 20)}"`);
  }
  return { priority: p };
}

/** `--id KEY`: one job's id, so not with --file (nor --id-from-url, which makes the ids). */
function idOf(args: Record<string, unknown>, input: JobInput): string | undefined {
  // The id from a URL hashes the payload's `url`: a --task payload has none to hash.
  if (input.task !== undefined && args["id-from-url"]) {
    throw new InputError("--id-from-url goes with --url/--file (use --id KEY with --task)");
  }
  const id = str(args.id);
  if (id === undefined) return undefined;
  if (input.file !== undefined) {
    throw new InputError("--id names one job: with --file use --id-from-url");
  }
  if (args["id-from-url"]) throw new InputError("give --id or --id-from-url, not both");
  const problem = callerIdProblem(id);
  if (problem) throw new InputError(`--id: ${problem}`);
  return id;
}

/** The built-in task by name, its payload from --payload: checked as --url checks it. */
export function wordCountArg(payload: unknown): { url: string } {
  return wordCountPayload(payload, " (or use --url)");
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
