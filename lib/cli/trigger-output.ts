// `trigger`'s output: the ids of each batch as Redis acknowledges it, the note for an id that
// existed already, and how a run ends: stopped part-way (what was enqueued, where to resume),
// interrupted while waiting, its standard output closed, or `--wait`'s results printed.
import { writeSync } from "node:fs";
import { ConnectError, describeError, LostReplyError, RedisFullError } from "../errors.ts";
import type { Queue } from "../queue/queue.ts";
import { safeJson, safeText } from "../safe-text.ts";
import type { WordCountPayload } from "../tasks/wordcount/index.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import { isClosedOutput } from "./closed-stdout.ts";
import { formatJob, formatJobLine, jobJson } from "./format.ts";
import { noLiveWorkerNote } from "./live-task.ts";
import { jobProgressLine, progressBar } from "./progress.ts";
import { signalStatus } from "./stop-signals.ts";
import { type EnqueuedLine, lostReplyHint, stoppedLine, type TriggerReport } from "./trigger.ts";
import { type Existing, existedJson, existedLine } from "./trigger-existing.ts";
import { timedOutLine, type WaitedJobs, waitForAll } from "./trigger-wait.ts";
import { writeOut } from "./write-out.ts";

/** Exit codes this part decides (bin/_cli.ts EXIT). */
const EXIT = { failed: 1, timeout: 5, connect: 6, full: 7 } as const;

type Job = EnqueuedLine<unknown>;

/** Prints a batch's ids (or JSON lines), waiting for stdout to drain: memory stays bounded. */
export async function printEnqueued(
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
  await writeOut(`${text}\n`);
}

/**
 * One job (`--task`, `--url`) whose id exists already (`--id`, `--id-from-url`): nothing was
 * enqueued, and the id printed is the existing job's. Said on stderr (JSON says `created`).
 */
export function existedNote(
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
export async function stopped(
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
 * The ids of jobs kept for --wait, on stdout before a stop exits. Written synchronously:
 * process.exit() would drop what a pipe has not taken yet.
 */
function writeKept(jobs: Job[], json: boolean | undefined): void {
  // --json: the lines stay JSON, one object a job (bare ids broke a reader's parse, R-192).
  const line = json
    ? (j: Job) => safeJson({ line: j.line, id: j.id, created: j.created })
    : (j: Job) => j.id;
  if (jobs.length > 0) writeSync(1, `${jobs.map(line).join("\n")}\n`);
}

/**
 * Ctrl-C (or SIGTERM, SIGHUP) with --wait: only the wait stops; the jobs enqueued so far
 * (queued, running or already ended) go on in Redis, so their ids must not be lost.
 */
export function interrupted(
  jobs: Job[],
  json: boolean | undefined,
  signal: NodeJS.Signals = "SIGINT",
): never {
  writeKept(jobs, json);
  writeSync(
    2,
    `trigger: interrupted; ${jobs.length === 1 ? "1 job enqueued goes" : `${jobs.length} jobs enqueued go`} on without this wait (ids printed; result ID shows each)\n`,
  );
  process.exit(signalStatus(signal));
}

/**
 * A stop signal cut `--file`'s input short: the lines taken were enqueued and their ids printed
 * (with --wait, printed now), the rest not read; said with where to resume. Exits as the signal.
 */
export function cutShort(
  report: TriggerReport,
  after: number,
  kept: Job[] | undefined,
  json: boolean | undefined,
  signal: NodeJS.Signals,
  unprinted?: readonly string[],
): never {
  if (kept) writeKept(kept, json);
  // A batch waited for (--then/--summary with --wait) prints no job's id as it goes: now.
  if (unprinted && unprinted.length > 0) {
    const line = json ? (id: string) => safeJson({ id }) : (id: string) => id;
    writeSync(1, `${unprinted.map(line).join("\n")}\n`);
  }
  const n = report.enqueued === 1 ? "1 job" : `${report.enqueued} jobs`;
  writeSync(
    2,
    `trigger: interrupted; lines up to ${after} enqueued (${n}, ids printed), later lines not read; to resume, run again with --skip ${after}\n`,
  );
  process.exit(signalStatus(signal));
}

/**
 * Standard output closed (`trigger --file big | head`, or `>&-`: lib/cli/closed-stdout.ts): nothing more is read, and since the
 * ids of what was enqueued can no longer all be shown, stderr says how far it got. Exit 141,
 * as a process killed by SIGPIPE would.
 */
export function outputClosed(report: TriggerReport, bulk: boolean): void {
  const { error, resumeLine } = report.halted!;
  if (!isClosedOutput(error)) throw error;
  // One job (--url, --task): no lines to resume from (--skip goes with --file, R-192).
  const line = bulk
    ? `lines up to ${resumeLine - 1} enqueued (${report.enqueued} jobs, not every id printed), later lines not read; to resume, run again with --skip ${resumeLine - 1}`
    : `${report.enqueued === 1 ? "the job was" : "no job was"} enqueued, its id not printed (${report.enqueued === 1 ? "queue jobs --state waiting lists it" : "run it again"})`;
  process.stderr.write(`trigger: standard output closed; ${line}\n`);
  process.exitCode = 141;
}

export async function waitAndPrint(
  queue: Queue,
  jobs: Job[],
  seconds: number,
  json: boolean | undefined,
  usage: number,
  /**
   * The task `--task` named (else the word count): a wait for a task no live worker has would not
   * end until one starts, so say so.
   */
  task?: string,
): Promise<number> {
  const ids = jobs.map((e) => e.id);
  if (ids.length === 1) process.stderr.write(`trigger: job ${ids[0]} enqueued, waiting for it\n`);
  const note = {
    command: "trigger",
    waits: ids.length === 1 ? "the job waits" : "its jobs wait",
    waiting: true,
  };
  const flag = task === undefined ? {} : { flag: "--task" };
  if (ids.length > 0) await noLiveWorkerNote(queue, task ?? WORDCOUNT_TASK, { ...note, ...flag });
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
    // The page in one write: a slow reader holds the next page back.
    const lines = page.map(({ id, record }) => {
      const line = jobs[i++]!.line;
      if (json) return safeJson(record ? { line, ...jobJson(record) } : { line, id, status: null });
      if (!record) return `${id}  unknown (record expired)`;
      return ids.length === 1 ? formatJob(record) : formatJobLine(record);
    });
    if (lines.length > 0) await writeOut(`${lines.join("\n")}\n`);
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
