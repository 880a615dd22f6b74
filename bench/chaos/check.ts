// The chaos run's verdict: read every acknowledged job back and compare with what the page
// server saw. A job is lost if it has no record or never ended; a result is wrong if its word
// count is not the page's; "recorded once" holds when the finished counter (bumped only by a
// first finish) equals the number of finished jobs. Counters and leftovers are summed over the
// queue's shards (a queue of several, on a cluster: `bun run chaos --cluster`).
import { GROUP, type QueueKeys, shardKeys } from "../../lib/engine/keys.ts";
import type { Queue } from "../../lib/queue/queue.ts";
import type { JobRecord } from "../../lib/types.ts";
import type { PageServer } from "./pages.ts";

export interface Checked {
  summary: Record<string, unknown>;
  failures: string[];
}

export async function checkOutcome(
  queue: Queue,
  acked: Map<string, number>,
  pages: PageServer,
  notEnded: string[],
): Promise<Checked> {
  const ids = [...acked.keys()];
  const records = await queue.getJobs(ids);
  const byStatus = (s: string) => records.filter((r) => r?.status === s) as JobRecord[];
  const finished = byStatus("finished");
  const dead = byStatus("failed");
  const lost = ids.filter(
    (_, i) => !records[i] || !["finished", "failed"].includes(records[i]!.status),
  );
  const wrong = finished.filter(
    (r) => (r.result as { words?: number })?.words !== pages.words(acked.get(r.id)!),
  );
  const left = await Promise.all(allShards(queue).map((k) => leftOn(queue, k)));
  const total = (i: number) => left.reduce((s, l) => s + l[i]!, 0);
  const recordedFinishes = total(0);
  const ranMoreThanOnce = [...pages.requests.values()].filter((n) => n > 1).length;
  const summary = {
    jobs: ids.length,
    finished: finished.length,
    dead: dead.length,
    lost: lost.length,
    wrongResults: wrong.length,
    recordedFinishes,
    ranMoreThanOnce,
    whyMoreThanOnce: reasons(finished, (r) => (pages.requests.get(acked.get(r.id)!) ?? 0) > 1),
    claimed: total(1),
    pending: total(2),
    streamLength: total(3),
    delayed: total(4),
  };
  const failures: string[] = [];
  if (lost.length > 0)
    failures.push(`${lost.length} acknowledged jobs lost or stuck, e.g. ${lost[0]}`);
  if (notEnded.length > 0) failures.push(`${notEnded.length} jobs had not ended by the deadline`);
  if (wrong.length > 0) failures.push(`${wrong.length} wrong results, e.g. ${wrong[0]!.id}`);
  if (recordedFinishes !== finished.length) {
    failures.push(`${recordedFinishes} finishes recorded for ${finished.length} finished jobs`);
  }
  if (summary.pending + summary.streamLength + summary.delayed > 0) {
    failures.push(
      `left behind: ${summary.pending} pending, ${summary.streamLength} in the stream, ${summary.delayed} delayed`,
    );
  }
  return { summary, failures };
}

/** Every shard's keys (one shard: the queue's own). */
export function allShards(queue: Queue): QueueKeys[] {
  return shardKeys(queue.options.prefix, queue.options.queue, queue.shards);
}

/** Results recorded over every shard (the stats' `finished`, bumped by a first finish only). */
export async function finishedCount(queue: Queue): Promise<number> {
  const counts = await Promise.all(
    allShards(queue).map((k) =>
      queue.client.sendCommand<string | null>(["HGET", k.stats, "finished"]),
    ),
  );
  return counts.reduce((s, c) => s + Number(c ?? 0), 0);
}

/** One shard's finished and claimed counts, pending entries, stream length and delayed jobs. */
async function leftOn(queue: Queue, k: QueueKeys): Promise<number[]> {
  const c = queue.client;
  const [stats, pending, streamLen, delayed] = await Promise.all([
    c.sendCommand<(string | null)[]>(["HMGET", k.stats, "finished", "claimed"]),
    c.sendCommand<[number]>(["XPENDING", k.stream, GROUP]),
    c.sendCommand<number>(["XLEN", k.stream]),
    c.sendCommand<number>(["ZCARD", k.delayed]),
  ]);
  return [stats[0], stats[1], pending[0], streamLen, delayed].map((v) => Number(v ?? 0));
}

/**
 * Why finished jobs ran more than once (their page was asked for more than once): their worker
 * died or was cut off (a claim took the run over: an abandoned or released run, or an attempt
 * past the first), an attempt failed, or a worker cut off but alive finished first, so its
 * outcome (one attempt) was kept and the claimer's run lost the first-finisher check.
 */
function reasons(
  finished: JobRecord[],
  ranTwice: (r: JobRecord) => boolean,
): Record<string, number> {
  const out: Record<string, number> = {
    workerKilledOrCutOff: 0,
    attemptFailed: 0,
    staleFinishKept: 0,
  };
  for (const r of finished) {
    if (!ranTwice(r)) continue;
    const failedAttempt = r.history.some((h) => h.error && !h.error.startsWith("abandoned"));
    const takenOver =
      r.attempts > 1 ||
      r.history.some((h) => h.outcome === "abandoned" || h.outcome === "released");
    const why = failedAttempt
      ? "attemptFailed"
      : takenOver
        ? "workerKilledOrCutOff"
        : "staleFinishKept";
    out[why]!++;
  }
  return out;
}
