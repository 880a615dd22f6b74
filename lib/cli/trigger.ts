// `trigger`: enqueue one job per input line of a task whose payload is built from the line,
// and optionally wait for them. Bad lines are reported; good ones are enqueued regardless.
import type { Queue } from "../queue.ts";
import type { JobRecord } from "../types.ts";
import { checkLines, type Line } from "./input.ts";

export interface TriggerReport<P> {
  enqueued: { line: number; id: string; payload: P; created: boolean }[];
  refused: (Line & { error: string })[];
}

/** Checks every line with `toPayload`, then enqueues the good ones in pipelined batches. */
export async function enqueueLines<P>(
  queue: Queue,
  task: string,
  lines: readonly Line[],
  toPayload: (text: string) => P,
  maxAttempts?: number,
): Promise<TriggerReport<P>> {
  const { good, bad } = checkLines(lines, toPayload);
  const done = await queue.enqueueMany(
    good.map((g) => ({ task, payload: g.payload, maxAttempts })),
  );
  const enqueued = good.map((g, i) => ({
    line: g.line,
    id: done[i]!.id,
    payload: g.payload,
    created: done[i]!.created,
  }));
  return { enqueued, refused: bad };
}

export interface Waited {
  /** Records in the order of the ids asked for; null for an unknown (expired) id. */
  jobs: { id: string; record: JobRecord | null }[];
  timedOut: boolean;
}

/** Waits for the jobs to end (Infinity = no limit), then reads them all in input order. */
export async function waitForAll(
  queue: Queue,
  ids: readonly string[],
  seconds: number,
  onProgress?: (ended: number, total: number) => void,
): Promise<Waited> {
  const timeoutMs = Number.isFinite(seconds) ? seconds * 1_000 : 2 ** 31;
  const { pending } = await queue.waitForJobs(ids, { timeoutMs, onProgress });
  const records = await queue.getJobs(ids);
  return {
    jobs: ids.map((id, i) => ({ id, record: records[i] ?? null })),
    timedOut: pending.length > 0,
  };
}
