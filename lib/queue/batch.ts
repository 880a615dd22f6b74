// Jobs that wait for others, on the Queue's side (docs/internals.md, "Dependencies and
// batches"): plain jobs and children of one enqueueMany call sent in order, and a batch (many
// jobs plus a callback that waits for all of them: Queue.enqueueBatch).
import type { OnParentFailure } from "../engine/child.ts";
import { InputError } from "../errors.ts";
import type { EnqueuedBatch, EnqueueStreamOptions } from "./bulk.ts";
import { checkDependencies, MAX_PARENTS } from "./depends.ts";
import type { Enqueued, JobSpec, Prepared } from "./prepare.ts";

/** What the Queue lends these functions. */
export interface ChildSender {
  prepare: (spec: JobSpec) => Prepared;
  /** Plain jobs, in batches. */
  sendMany: (jobs: readonly Prepared[]) => Promise<Enqueued[]>;
  /** One job waiting for `parents` (at least one; those `acknowledged` are not checked). */
  sendChild: (
    job: Prepared,
    parents: string[],
    onFailure: OnParentFailure,
    acknowledged?: ReadonlySet<string>,
  ) => Promise<Enqueued>;
  /** Refuses (InputError) parents unknown in this queue; reads only. */
  checkParents: (parents: readonly string[]) => Promise<void>;
}

/** A spec checked: its job, and its parents when it has some. */
export function prepareWithParents(s: ChildSender, spec: JobSpec) {
  const parents = checkDependencies(spec);
  if (parents !== null && (spec.delayMs !== undefined || spec.runAt !== undefined)) {
    throw new InputError("dependsOn cannot be given with delayMs or runAt");
  }
  return { job: s.prepare(spec), parents, onFailure: spec.onParentFailure ?? "fail" };
}

/**
 * Specs in order: runs of plain jobs in batches, each child alone after the jobs before it
 * (it may wait for them). A child with an empty `dependsOn` waits for nothing: a plain job.
 */
export async function sendInOrder(s: ChildSender, specs: readonly JobSpec[]): Promise<Enqueued[]> {
  const prepared = specs.map((spec) => prepareWithParents(s, spec));
  await s.checkParents(parentsFromOutside(prepared));
  const out: Enqueued[] = [];
  let run: Prepared[] = [];
  for (const p of prepared) {
    if (p.parents === null || p.parents.length === 0) {
      run.push(p.job);
      continue;
    }
    if (run.length > 0) out.push(...(await s.sendMany(run)));
    run = [];
    out.push(await s.sendChild(p.job, p.parents, p.onFailure));
  }
  if (run.length > 0) out.push(...(await s.sendMany(run)));
  return out;
}

export interface BatchOptions extends EnqueueStreamOptions {
  /**
   * The callback: a job that runs once when every job of the batch has ended (finished, failed
   * for good or canceled), whatever their outcomes (`onParentFailure` "run" unless given);
   * its task reads them with `ctx.parents()`. Its own `dependsOn`, if any, is added to the batch.
   */
  then: JobSpec;
  /**
   * Ids of jobs this caller enqueued itself for the batch, as Redis acknowledged them (e.g.
   * `enqueueBatches`' ids, a reader printing each as it goes), put before `specs`' jobs: unlike
   * the callback's `dependsOn` they are not checked, so one whose outcome expired while the
   * batch was still being sent (input streamed over `resultTtlS`) reads as `unknown` rather
   * than refuse the callback.
   */
  enqueued?: readonly string[];
}

export interface EnqueuedBatchWithCallback {
  /** The batch's jobs' ids, in input order. */
  ids: string[];
  callbackId: string;
  /**
   * false when a job with the callback's id already existed (a caller id given again: an
   * earlier run's callback, which is not added again, and whatever it waits for stays as it was).
   */
  callbackCreated: boolean;
}

/**
 * The parents that no spec before their child in the list is (by its caller id): they must
 * exist before anything is sent, or an unknown one (a typo) would refuse its child after the
 * jobs before it were enqueued, which enqueueMany promises never happens.
 */
function parentsFromOutside(
  prepared: readonly { job: Prepared; parents: string[] | null }[],
): string[] {
  const given = new Set<string>();
  const outside = new Set<string>();
  for (const p of prepared) {
    for (const parent of p.parents ?? []) if (!given.has(parent)) outside.add(parent);
    if (p.job.id !== undefined) given.add(p.job.id);
  }
  return [...outside];
}

/**
 * The batch's jobs (streamed: `enqueue` yields them as they are acknowledged), then the
 * callback waiting for all of them. The callback's spec is checked before any job is sent (its
 * own parents when it is sent: they may be jobs of the batch, by their caller ids); a
 * batch of more than MAX_PARENTS jobs throws once past it (the jobs sent stay, no callback).
 */
export async function sendBatch(
  s: ChildSender,
  enqueue: AsyncIterable<EnqueuedBatch>,
  then: JobSpec,
  enqueued: readonly string[] = [],
): Promise<EnqueuedBatchWithCallback> {
  const spec: JobSpec = { ...then, onParentFailure: then.onParentFailure ?? "run" };
  const checked = prepareWithParents(s, { ...spec, dependsOn: spec.dependsOn ?? [] });
  const ids: string[] = [...enqueued];
  // Repeats count once (`enqueued` may name a job twice: checkBatchCall counts it so).
  const distinct = new Set(ids);
  for await (const batch of enqueue) {
    for (const job of batch.jobs) {
      ids.push(job.id);
      distinct.add(job.id);
    }
    // Past the most a callback may wait for: stop reading (no more is sent) and say what was.
    if (distinct.size > MAX_PARENTS) {
      throw new InputError(
        `a batch holds at most ${MAX_PARENTS} jobs: ${distinct.size} were enqueued, with no callback`,
      );
    }
  }
  const parents = [...new Set([...(checked.parents ?? []), ...distinct])];
  // The callback's own dependsOn and the batch were each within the bound; together they may not.
  if (parents.length > MAX_PARENTS) {
    throw new InputError(
      `a callback waits for at most ${MAX_PARENTS} jobs: its dependsOn and the batch's ${distinct.size} jobs make ${parents.length}; the jobs were enqueued, with no callback`,
    );
  }
  if (parents.length === 0) {
    const [done] = await s.sendMany([checked.job]);
    return { ids, callbackId: done!.id, callbackCreated: done!.created };
  }
  // The batch's jobs are not checked: one that ended over `resultTtlS` before the last was sent
  // (a long stream of input) refused the callback of the whole batch.
  const done = await s.sendChild(checked.job, parents, checked.onFailure, distinct);
  return { ids, callbackId: done.id, callbackCreated: done.created };
}
