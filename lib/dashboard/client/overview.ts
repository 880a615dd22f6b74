// The overview's parts of a snapshot: the counts and chart, the workers, the latest failures.
// Each is drawn on its own: a part the server could not read is left as it was (views.ts).
import type { Snapshot } from "../api-reads.ts";
import { drawChart } from "./chart.js";
import { $, ago, fill, jobLink, shown, text, time } from "./dom.js";

/** A part of the snapshot as read (not `{ unreadable }`). */
export type Part<K extends keyof Snapshot> = Exclude<Snapshot[K], { unreadable: string }>;

/** "7.9 of 8.0 MB, FULL": a full Redis refuses new jobs (see the README's operations section). */
function memoryText(m: Part<"overview">["memory"]): string {
  if (!m) return "–";
  const mb = (n: number) => (n / 1_048_576).toFixed(1);
  // On a cluster, the fullest master's (each has its own maxmemory), named.
  const on = m.node === undefined ? "" : ` on ${m.node}`;
  if (m.maxBytes === 0) return `${mb(m.usedBytes)} MB${on} (no limit)`;
  return `${mb(m.usedBytes)} of ${mb(m.maxBytes)} MB${on}${m.full ? ", FULL" : ""}`;
}

export function renderOverview(o: Part<"overview">): void {
  const c = o.counts;
  const set = (id: string, v: unknown) => ($(`count-${id}`).textContent = shown(v));
  set("waiting", c.waiting);
  set("in-flight", c.inFlight);
  set("delayed", c.delayed);
  // Said once a high or low level has work (a queue without levels shows what it always did).
  const by = c.byPriority;
  const leveled =
    by !== undefined && [by.high, by.low].some((l) => l.waiting + l.inFlight + l.delayed > 0);
  $("priority-card").hidden = !leveled;
  if (by)
    set(
      "priority",
      `high ${by.high.waiting} · normal ${by.normal.waiting} · low ${by.low.waiting}`,
    );
  set("dead", c.dead);
  set("finished-minute", c.finished.lastMinute);
  set("failed-minute", c.failed.lastMinute);
  set("finished-hour", c.finished.lastHour);
  set("throughput", c.throughputPerS);
  set("oldest", ago(c.oldestWaitingMs));
  set("finished-total", c.totals.finished ?? 0);
  set("memory", memoryText(o.memory));
  set("shards", o.shards); // the counts above are the shards' sums
  $("paused").hidden = !o.paused;
  // Tasks whose jobs wait for a live worker: said once there is one (the first by name, then how many more).
  $("unserved-card").hidden = c.unservedTasks.length === 0;
  set("unserved", unservedText(c));
  drawChart(o.series);
}

/** "resize (3 jobs), thumb (1 job), and 25 more": the snapshot lists the first by name only. */
export function unservedText(c: Part<"overview">["counts"]): string {
  const listed = c.unservedTasks.map(
    (u) => `${u.task} (${u.jobs} ${u.jobs === 1 ? "job" : "jobs"})`,
  );
  const more = c.unservedTasksTotal - c.unservedTasks.length;
  return more > 0 ? `${listed.join(", ")}, and ${more} more` : listed.join(", ");
}

export function renderWorkers(w: Part<"workers">): void {
  fill(
    "workers",
    w.workers.map((w) =>
      [
        w.name,
        w.host,
        w.pid,
        w.concurrency,
        w.inFlight,
        w.processed,
        w.failed,
        `${ago(Number(w.lastHeartbeatMs))} ago`,
      ]
        .map((v) => text(v))
        .concat(text(w.unreadable ? `unreadable: ${w.unreadable}` : w.state, `state-${w.state}`)),
    ),
    "no workers",
  );
}

export function renderFailures(f: Part<"failures">): void {
  fill(
    "failures",
    f.failures.map((f) => [
      text(time(f.at)),
      jobLink(f.id),
      text(f.task),
      text(f.attempt),
      text(f.runAt ? `${f.outcome}, at ${time(f.runAt)}` : f.outcome),
      text(f.error, "error"),
    ]),
    "no failures",
  );
}
