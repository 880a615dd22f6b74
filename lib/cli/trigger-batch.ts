// `trigger --file … --then TASK` / `--summary`, after the file's jobs are enqueued: the batch's
// callback enqueued with every job as its parent (it runs once all have ended, whatever their
// outcome), and with `--wait` the wait for it alone (its parents have all ended when it has)
// and its result printed: the summary as a block of lines, any other task's job as `result`
// shows it, or the job's JSON with `--json`.
import type { Level } from "../engine/keys.ts";
import { InputError } from "../errors.ts";
import { MAX_PARENTS } from "../queue/depends.ts";
import type { Queue } from "../queue/queue.ts";
import { safeJson, safeText } from "../safe-text.ts";
import { WORDCOUNT_TASK } from "../tasks/wordcount/name.ts";
import { type JobRecord, TERMINAL_STATUSES } from "../types.ts";
import { formatJob, jobJson } from "./format.ts";
import { noLiveWorkerNote } from "./live-task.ts";
import { jobProgressLine } from "./progress.ts";
import { formatSummary, isSummary } from "./summary-format.ts";
import type { ThenJob } from "./trigger-then.ts";
import { timedOutLine, waitForAll } from "./trigger-wait.ts";

/** Exit codes this part decides (bin/_cli.ts EXIT). */
const EXIT = { ok: 0, failed: 1, timeout: 5 } as const;

/** A batch past the most a callback may wait for (BatchIds.add). */
class BatchFullError extends InputError {}

/**
 * The batch's ids as Redis acknowledges them. Past `most` distinct ids (a URL given twice with
 * --id-from-url is one job) `check` throws: trigger reads no more lines (enqueueLines' `halted`)
 * rather than enqueue a whole file whose callback would be refused.
 */
export class BatchIds {
  readonly ids: string[] = [];
  #seen = new Set<string>();
  constructor(private readonly most = MAX_PARENTS) {}

  #lastLine = 0;

  add(jobs: readonly { id: string; line: number }[]): void {
    for (const j of jobs) {
      this.ids.push(j.id);
      this.#seen.add(j.id);
      this.#lastLine = j.line;
    }
  }

  /** Throws once the batch is past the most (after its jobs' ids were printed). */
  check(): void {
    if (this.#seen.size <= this.most) return;
    const last = this.#lastLine;
    throw new BatchFullError(
      `a batch holds at most ${this.most} jobs: stopped after line ${last}, the ${this.#seen.size} jobs enqueued run without a callback, later lines not read; split the file`,
    );
  }

  static isFull(err: unknown): boolean {
    return err instanceof BatchFullError;
  }
}

/** Said when --skip is given with --then/--summary: the batch is this run's lines only. */
export function skipNote(skip: number, idFromUrls: boolean): string {
  const whole = idFromUrls
    ? "run without --skip to have one callback over the whole file (--id-from-url: no job is enqueued twice)"
    : "jobs of earlier lines are not in it";
  return `trigger: --skip ${skip}: the batch and its callback cover the lines after ${skip} only; ${whole}`;
}

/**
 * The callback's id, chosen before it is sent, so that trigger can name it whatever happens to
 * the reply. With --id-from-url it follows from the callback's task and payload and the jobs'
 * ids (in order): the same command run again names the same callback, which the library then
 * finds (no second callback); another --then, --then-payload or --summary over the same jobs
 * names another, which runs too.
 */
export function callbackIdOf(
  ids: readonly string[],
  idFromUrls: boolean,
  then: Pick<ThenJob, "task" | "payload">,
): string {
  if (!idFromUrls) return Bun.randomUUIDv7();
  const callback = JSON.stringify([then.task, then.payload ?? null]);
  const hash = new Bun.CryptoHasher("sha256").update(`${callback}\n`);
  hash.update([...new Set(ids)].join("\n"));
  return `batch-${hash.digest("hex")}`;
}

/**
 * Enqueues the callback `id` of the batch `ids` (enqueued already, streamed by enqueueLines so
 * each batch's ids are printed as Redis acknowledges them): the library's batch of those jobs
 * (`enqueued`: not checked again, so a job that ended over `resultTtlS` before the last line was
 * read, `--file -` fed slowly, reads as unknown rather than refuse the callback), no more, its
 * callback waiting for `ids`, so it runs once all have ended, whatever their outcomes.
 */
export async function enqueueCallback(
  queue: Queue,
  then: ThenJob,
  ids: readonly string[],
  options: { id: string; maxAttempts?: number; priority?: Level },
): Promise<{ id: string; created: boolean }> {
  const callback = { task: then.task, payload: then.payload, ...options };
  // biome-ignore lint/suspicious/noThenProperty: the library's option; its value is a job spec, no function
  const batch = await queue.enqueueBatch([], { then: callback, enqueued: ids });
  return { id: batch.callbackId, created: batch.callbackCreated };
}

/**
 * The line (stderr) or JSON object (stdout, --json) that names the callback. `earlier`: the
 * callback an earlier run made with the same id (--id-from-url), as it stands; it is not added
 * again, so it does not run again once it has ended.
 */
export function callbackNote(
  id: string,
  then: ThenJob,
  jobs: number,
  earlier?: { status: string } | null,
): string {
  const n = jobs === 1 ? "the job has" : `all ${jobs} jobs have`;
  const named = `trigger: callback ${id} (${safeText(then.task)})`;
  if (earlier === undefined) return `${named} runs once ${n} ended`;
  if (earlier === null || !TERMINAL_STATUSES.has(earlier.status as JobRecord["status"])) {
    return `${named}, from an earlier run of this batch, waits for that run's jobs; none is added`;
  }
  const again = earlier.status === "failed" ? `; dead requeue ${id} runs it again` : "";
  return `${named}, from an earlier run of this batch, has ended (${safeText(earlier.status)}): it does not run again${again}`;
}

export function callbackJson(id: string, then: ThenJob, jobs: number, created = true): string {
  return safeJson({ callback: id, task: then.task, jobs, created });
}

/**
 * Waits for the callback (Infinity = no limit) and prints it; the exit code: 0, 1 when it did
 * not finish or (a summary) some page was not counted, 5 when the limit ran out.
 */
export async function waitForCallback(
  queue: Queue,
  id: string,
  seconds: number,
  json: boolean,
): Promise<number> {
  const progress = jobProgressLine();
  let record: JobRecord | null = null;
  const waited = await waitForAll(
    queue,
    [id],
    seconds,
    (page) => {
      progress.end();
      record = page[0]?.record ?? null;
      process.stdout.write(`${showCallback(id, record, json)}\n`);
    },
    undefined,
    (_, value) => progress.show(value),
  ).finally(() => progress.end());
  if (waited.timedOut) {
    process.stderr.write(`trigger: ${safeText(timedOutLine(waited, seconds))}\n`);
    return EXIT.timeout;
  }
  return exitOf(record);
}

/** The callback as printed: its JSON, the summary, or the job as `result` shows it. */
export function showCallback(id: string, record: JobRecord | null, json: boolean): string {
  if (json) return safeJson(record ? jobJson(record) : { id, status: null });
  if (!record) return `${id}  unknown (record expired)`;
  if (record.status === "finished" && isSummary(record.result)) return formatSummary(record.result);
  return formatJob(record);
}

function exitOf(record: JobRecord | null): number {
  if (record?.status !== "finished") return EXIT.failed;
  if (isSummary(record.result) && record.result.failed > 0) return EXIT.failed;
  return EXIT.ok;
}

export interface BatchEnd {
  maxAttempts?: number;
  priority?: Level;
  /** `--wait`: seconds, Infinity for no limit; undefined: no wait. */
  wait?: number;
  json: boolean;
  /** The exit code of the enqueue so far (2 when a line was refused). */
  usage: number;
  /** The jobs' ids came from their URLs: a run again finds them (noCallbackLine). */
  idFromUrls: boolean;
}

/** After every line is enqueued: the callback, named on stderr (or stdout, --json), and waited for. */
export async function finishBatch(
  queue: Queue,
  then: ThenJob,
  ids: readonly string[],
  end: BatchEnd,
): Promise<number> {
  if (ids.length === 0) {
    process.stderr.write("trigger: no job was enqueued, so no callback either\n");
    return end.usage;
  }
  const { maxAttempts, priority } = end;
  const chosen = callbackIdOf(ids, end.idFromUrls, then);
  const options = { id: chosen, maxAttempts, priority };
  const { id, created } = await enqueueCallback(queue, then, ids, options).catch((err) => {
    // The cause follows (bin/_cli.ts); first, that the jobs are there, and the callback maybe.
    const refused = err instanceof InputError;
    process.stderr.write(
      `${refused ? noCallbackLine(end.idFromUrls) : maybeCallbackLine(chosen, end.idFromUrls)}\n`,
    );
    throw err;
  });
  // A URL given twice with --id-from-url is one job: the callback waits for it once.
  const jobs = new Set(ids).size;
  // The same id as an earlier run's (--id-from-url): that callback stands, as it is.
  const earlier = created ? undefined : await queue.getJob(id);
  if (end.json && end.wait === undefined) {
    process.stdout.write(`${callbackJson(id, then, jobs, created)}\n`);
  } else process.stderr.write(`${callbackNote(id, then, jobs, earlier)}\n`);
  // Waited for: the callback ends only after its word counts, which wait for a worker too.
  if (end.wait !== undefined) {
    const waits = jobs === 1 ? "the batch's job waits" : "the batch's jobs wait";
    await noLiveWorkerNote(queue, WORDCOUNT_TASK, { command: "trigger", waits, waiting: true });
  }
  await noLiveWorkerNote(queue, then.task, {
    command: "trigger",
    waits: "the callback waits",
    flag: "--then",
  });
  if (end.wait === undefined) return end.usage;
  const code = await waitForCallback(queue, id, end.wait, end.json);
  return code === EXIT.ok ? end.usage : code;
}

/**
 * Said when the enqueue stopped part-way: the batch is incomplete, so it gets no callback. With
 * --id-from-url a new run finds the jobs enqueued (the same ids) and adds the callback over all.
 */
export function noCallbackLine(idFromUrls: boolean): string {
  const again = idFromUrls
    ? "run the same command again for it (--id-from-url: no job is enqueued twice)"
    : "the jobs enqueued run without one (with --id-from-url, a run again would add it and enqueue no job twice)";
  return `trigger: the batch's callback was not enqueued; ${again}`;
}

/**
 * Said when the callback's enqueue failed without a refusal (a lost reply, a dropped
 * connection): it may have been written, in part or whole, under the id chosen before sending.
 */
export function maybeCallbackLine(id: string, idFromUrls: boolean): string {
  const again = idFromUrls
    ? "run the same command again: it goes on with that callback (the same id), and enqueues no job or callback twice"
    : `look at \`result ${id}\` before running again: without --id-from-url a run again enqueues the jobs and another callback`;
  return `trigger: the batch's callback may have been enqueued: ${id}; ${again}`;
}
