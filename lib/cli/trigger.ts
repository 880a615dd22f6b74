// `trigger`: enqueue one job per input line of a task whose payload is built from the line,
// streamed with bounded memory (waiting for them: lib/cli/trigger-wait.ts). Bad lines are
// reported; good ones are enqueued regardless. A failure part-way says exactly what was
// enqueued and where to resume.
import type { Level } from "../engine/keys.ts";
import type { JobSpec } from "../queue/prepare.ts";
import type { Queue } from "../queue/queue.ts";
import type { Line } from "./input.ts";

export interface EnqueuedLine<P> {
  line: number;
  id: string;
  payload: P;
  created: boolean;
}

/** What a line becomes: its payload and, when it has one, its limit key. */
export interface LineJob<P> {
  payload: P;
  limitKey?: string;
}

export interface LineJobs<P> {
  task: string;
  /**
   * Builds a line's job from its text: its payload, and its limit key (JobSpec.limitKey; absent:
   * none, or the task's default), made together so that a line is parsed once. Throws for a bad
   * line (reported, not enqueued).
   */
  toJob: (text: string) => LineJob<P>;
  /** The job id for a payload (an idempotency key), or undefined: the job gets its entry id. */
  idFor?: (payload: P) => string;
  maxAttempts?: number;
  /** When every job runs: a delay from now, or a due time (ms, Redis' clock); none = now. */
  schedule?: { delayMs?: number; runAt?: number; priority?: Level };
  /** Each acknowledged batch, in input order; awaited, so slow output slows the input. */
  onEnqueued: (jobs: EnqueuedLine<P>[]) => Promise<void> | void;
  onRefused: (bad: Line & { error: string }) => void;
}

/** Where a run stopped: the first line not known to be enqueued, and why. */
export interface Stopped {
  error: unknown;
  resumeLine: number;
  /** Jobs from lines after `resumeLine` acknowledged anyway (batches already in flight). */
  laterEnqueued: number;
}

export interface TriggerReport {
  enqueued: number;
  refused: number;
  stopped?: Stopped;
  /**
   * `onEnqueued` threw (standard output closed): no more lines were read, the batches in
   * flight were still counted, and the input is enqueued up to the line before `resumeLine`.
   */
  halted?: { error: unknown; resumeLine: number };
}

/** Enqueues a job per good line, streamed in batches; never throws for a failed batch. */
export async function enqueueLines<P>(
  queue: Queue,
  lines: AsyncIterable<Line[]>,
  jobs: LineJobs<P>,
): Promise<TriggerReport> {
  const report: TriggerReport = { enqueued: 0, refused: 0 };
  const specs = toSpecs(
    lines,
    jobs,
    () => report.refused++,
    () => report.halted !== undefined,
  );
  for await (const o of queue.enqueueBatches(specs)) {
    if (!o.ok) {
      report.stopped ??= { error: o.error, resumeLine: o.specs[0]!.line, laterEnqueued: 0 };
      continue;
    }
    const last = o.specs[o.specs.length - 1]!.line;
    if (!report.halted) {
      const done = o.specs.map((s, i) => ({
        line: s.line,
        id: o.jobs[i]!.id,
        payload: s.payload,
        created: o.jobs[i]!.created,
      }));
      await Promise.resolve(jobs.onEnqueued(done)).catch((error: unknown) => {
        report.halted = { error, resumeLine: last + 1 };
      });
    } else report.halted.resumeLine = last + 1;
    report.enqueued += o.jobs.length;
    if (report.stopped) report.stopped.laterEnqueued += o.jobs.length;
  }
  return report;
}

/** Specs given in steps of at most this many: one step each, and little read past a halt. */
const SPECS_PER_STEP = 256;

/** The lines' specs, in arrays of up to SPECS_PER_STEP (Queue.enqueueBatches takes them so). */
async function* toSpecs<P>(
  lines: AsyncIterable<Line[]>,
  jobs: LineJobs<P>,
  refused: () => void,
  halted: () => boolean,
) {
  const { task, maxAttempts, idFor } = jobs;
  const { delayMs, runAt, priority } = jobs.schedule ?? {};
  let step: (JobSpec & { line: number; payload: P })[] = [];
  for await (const group of lines) {
    for (const l of group) {
      if (step.length >= SPECS_PER_STEP) {
        yield step;
        step = [];
      }
      // Set only while this waits (at a yield, or for input): a step is never cut by it.
      if (halted()) return;
      let job: LineJob<P>;
      try {
        if (l.error !== undefined) throw new Error(l.error);
        job = jobs.toJob(l.text);
      } catch (err) {
        refused();
        jobs.onRefused({ ...l, error: err instanceof Error ? err.message : String(err) });
        continue;
      }
      const { payload, limitKey } = job;
      // Every field written, set or not (undefined reads as absent): one shape for every line,
      // built without a spread per line (a spread showed in the profile of 100,000 lines).
      const spec: JobSpec & { line: number; payload: P } = {
        task,
        payload,
        maxAttempts,
        id: idFor?.(payload),
        line: l.line,
        delayMs,
        runAt,
        priority,
        limitKey: limitKey || undefined,
      };
      step.push(spec);
    }
    // A group's specs go on as soon as it is read (a slow pipe's lines are not held back).
    if (step.length > 0) yield step;
    step = [];
  }
}

/** Job id from a URL: the same URL gives the same id, so a rerun enqueues nothing twice. */
export function idFromUrl(url: string): string {
  const hash = new Bun.CryptoHasher("sha256").update(url).digest("hex");
  return `url-${hash.slice(0, 40)}`;
}

/**
 * After a write whose reply was lost (LostReplyError): how to have it sent again safely. Within
 * one run a batch keeps its receipt, so trigger's own re-send adds nothing; a new run makes new
 * batches, and without --id-from-url new jobs. For `bulk`, stoppedLine says how to resume.
 */
export function lostReplyHint(
  bulk: boolean,
  idFromUrls: boolean,
  retryConnectS = 0,
  /** The job's id was given (`--id KEY`): running it again is as safe as with --id-from-url. */
  givenId = false,
): string {
  const flag = retryConnectS > 0 ? "a longer --retry-connect" : "--retry-connect SECONDS";
  const resend = `with ${flag}, trigger sends ${bulk ? "a batch" : "it"} again by itself, safely (its receipt makes the re-send add nothing)`;
  if (bulk) return resend;
  const again =
    idFromUrls || givenId
      ? `running the same command again enqueues nothing twice (${givenId ? "--id" : "--id-from-url"})`
      : "running the command again would enqueue it a second time";
  return `${resend}; ${again}`;
}

/**
 * The stderr line after a run stopped part-way: what was enqueued, how to resume. `unsure`:
 * the refused batch got no answer (connection lost, timeout), so it may have been enqueued.
 */
export function stoppedLine(
  report: TriggerReport,
  idFromUrls: boolean,
  unsure: boolean,
  /** false: the ids were not printed (a batch with --wait prints its callback alone). */
  printed = true,
): string {
  const s = report.stopped!;
  const ids = printed ? "ids printed" : "ids not printed: --wait with --then/--summary";
  const before = report.enqueued - s.laterEnqueued;
  const maybe = unsure
    ? `; Redis did not answer for the jobs from line ${s.resumeLine} on: some of them may have been enqueued${idFromUrls ? "" : ", and --skip would enqueue them again"}`
    : "";
  const resume = idFromUrls
    ? `to resume, run the same command again (--id-from-url: nothing is enqueued twice), or add --skip ${s.resumeLine - 1}`
    : `to resume, run again with --skip ${s.resumeLine - 1}`;
  const later =
    s.laterEnqueued > 0
      ? `; ${s.laterEnqueued} jobs from later lines were enqueued too (${ids})${idFromUrls ? "" : ", which --skip would enqueue again"}`
      : "";
  return `stopped at line ${s.resumeLine}: ${before} jobs enqueued before it (${ids})${later}${maybe}; ${resume}`;
}
