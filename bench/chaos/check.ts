// The chaos run's verdict: read every acknowledged job back and compare with what the page
// server saw. A job is lost if it has no record or never ended; a result is wrong if its word
// count is not the page's; "recorded once" holds when the finished counter (bumped only by a
// first finish) equals the number of finished jobs.
import { GROUP } from "../../lib/engine/keys.ts";
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
  const c = queue.client;
  const [stats, pendingReply, streamLen, delayed] = await Promise.all([
    c.sendCommand<string[]>(["HMGET", queue.keys.stats, "finished", "dead", "claimed"]),
    c.sendCommand<[number]>(["XPENDING", queue.keys.stream, GROUP]),
    c.sendCommand<number>(["XLEN", queue.keys.stream]),
    c.sendCommand<number>(["ZCARD", queue.keys.delayed]),
  ]);
  const recordedFinishes = Number(stats[0] ?? 0);
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
    claimed: Number(stats[2] ?? 0),
    pending: Number(pendingReply[0]),
    streamLength: Number(streamLen),
    delayed: Number(delayed),
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
