// `/metrics` in the Prometheus text format (version 0.0.4): the counters hash as counters, the
// queue's current numbers, its rate limits and its schedules as gauges, and the run-time
// histogram of finished jobs. Pure: queue-view.ts (metricsText) reads the numbers, this turns
// them into text (tested with tables).

import { LIMIT_KEY_MAX_BYTES } from "../engine/limits.ts";
import type { RedisMemory } from "../redis/memory.ts";
import { cutText, ID_SHOWN_MAX, safeText } from "../safe-text.ts";
import type { ScheduleInfo } from "../schedule/schedules.ts";
import { LATE_MS } from "../schedule/ticks.ts";
import type { QueueSchedules } from "./info-schedules.ts";
import { type LimitsView, perSecond } from "./limits-view.ts";
import { DURATION_BOUNDS_MS, type Durations } from "./run-times.ts";
import { type Counter, isCount, type QueueCounts } from "./stats.ts";

export { DURATION_BOUNDS_MS };

export interface QueueMetrics {
  /** The queue's label (default: counts.queue). */
  queue?: string;
  /** Null (as liveWorkers, durations): unreadable, its families left out (`unreadable` says why). */
  counts: QueueCounts | null;
  liveWorkers: number | null;
  durations: Durations | null;
  /**
   * The parts left out because a key of theirs holds another type: `[part, why]`, each told in
   * a comment line and counted in `courier_queue_unreadable` (0 when none).
   */
  unreadable?: [string, string][];
  /** The queue's shard count (its numbers above are the shards' sums); no sample when not given. */
  shards?: number;
  /** The queue is paused (`queue.ts pause`); no sample when not given. */
  paused?: boolean;
  /** Its rate limits and held keys (lib/admin/limits.ts); no sample when not given. */
  limits?: LimitsView;
  /**
   * Its recurring schedules' count and the first SCHEDULES_SHOWN, with Redis' time
   * (info-schedules.ts); no sample when not given.
   */
  schedules?: QueueSchedules;
}

const COUNTER_HELP: Record<Counter, string> = {
  enqueued: "Jobs enqueued.",
  started: "Attempts started.",
  finished: "Jobs finished.",
  failed: "Jobs failed for good (dead-lettered).",
  retried: "Failed attempts that were scheduled to run again.",
  dead: "Jobs dead-lettered.",
  claimed: "Attempts started on a job taken over from a worker that stopped renewing its lease.",
  requeued: "Dead jobs requeued by an operator.",
  dead_trimmed:
    "Dead letters dropped, oldest first, to make room for new ones while Redis was full.",
  canceled: "Jobs canceled before they ended (cancel, Queue.cancel, the dashboard).",
};

const GAUGES: [string, string, (c: QueueCounts) => number][] = [
  ["jobs_waiting", "Jobs in the stream not yet read by a worker.", (c) => c.waiting],
  ["jobs_in_flight", "Jobs read by a worker and not yet acknowledged.", (c) => c.inFlight],
  ["jobs_delayed", "Jobs waiting for a retry back-off or a delayed start.", (c) => c.delayed],
  ["jobs_dead", "Dead letters kept.", (c) => c.dead],
  [
    "jobs_parked",
    "Jobs parked until a live worker has their task (in no other jobs gauge).",
    (c) => c.parked,
  ],
  [
    "oldest_waiting_seconds",
    "Age of the oldest job waiting to be read (0 when none waits).",
    (c) => (c.oldestWaitingMs ?? 0) / 1_000,
  ],
];

/**
 * Redis' memory: one server for all queues, so no queue label (omitted when unknown); on a
 * cluster, the fullest master's (memory-nodes.ts), each master having its own maxmemory.
 */
const MEMORY_GAUGES: [string, string, (m: RedisMemory) => number][] = [
  ["redis_used_memory_bytes", "Memory Redis uses (INFO used_memory).", (m) => m.usedBytes],
  ["redis_max_memory_bytes", "Redis' maxmemory (0 = no limit).", (m) => m.maxBytes],
  [
    "redis_full",
    "1 when Redis is at maxmemory: new jobs are refused (policy noeviction).",
    (m) => (m.full ? 1 : 0),
  ],
];

export function renderMetrics(
  queues: readonly QueueMetrics[],
  memory: RedisMemory | null = null,
): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => {
    out.push(`# HELP courier_${name} ${help}`, `# TYPE courier_${name} ${type}`);
  };
  for (const [name, help, get] of memory ? MEMORY_GAUGES : []) {
    family(name, "gauge", help);
    out.push(`courier_${name} ${formatValue(get(memory!))}`);
  }
  for (const [counter, help] of Object.entries(COUNTER_HELP) as [Counter, string][]) {
    family(`jobs_${counter}_total`, "counter", help);
    for (const q of queues) {
      // A counter field that holds no whole number (corrupt, or written by hand) is left out:
      // no sample rather than NaN, which would read as a reset (or break a rate).
      const value = q.counts?.totals[counter] ?? Number.NaN; // NaN: counts unreadable
      if (isCount(value)) out.push(sample(`jobs_${counter}_total`, { queue: label(q) }, value));
    }
  }
  for (const [name, help, get] of GAUGES) {
    family(name, "gauge", help);
    for (const q of queues) {
      if (q.counts) out.push(sample(name, { queue: label(q) }, get(q.counts)));
    }
  }
  family("jobs_waiting_priority", "gauge", "Jobs waiting to be read, per priority level.");
  for (const q of queues) {
    for (const [priority, l] of Object.entries(q.counts?.byPriority ?? {})) {
      out.push(sample("jobs_waiting_priority", { queue: label(q), priority }, l.waiting));
    }
  }
  family("workers_live", "gauge", "Workers whose last heartbeat is recent.");
  for (const q of queues) {
    if (q.liveWorkers !== null)
      out.push(sample("workers_live", { queue: label(q) }, q.liveWorkers));
  }
  family("queue_shards", "gauge", "Shards the queue is split into (its numbers are their sums).");
  for (const q of queues) {
    if (q.shards !== undefined) out.push(sample("queue_shards", { queue: label(q) }, q.shards));
  }
  family("queue_paused", "gauge", "1 while the queue is paused: workers start no new job.");
  for (const q of queues) {
    if (q.paused !== undefined)
      out.push(sample("queue_paused", { queue: label(q) }, q.paused ? 1 : 0));
  }
  out.push(...limitFamilies(queues));
  out.push(...scheduleFamilies(queues));
  family("job_duration_seconds", "histogram", "Run time of finished jobs, start to finish.");
  for (const q of queues) if (q.durations) out.push(...histogram(label(q), q.durations));
  family("queue_unreadable", "gauge", "Parts left out above: a key of theirs holds another type.");
  for (const q of queues) {
    // Why, in a comment line each (a scraper ignores it; a person reading the page sees it),
    // its control characters escaped: a newline would end the comment.
    for (const [part, why] of q.unreadable ?? []) out.push(`# ${part} left out: ${safeText(why)}`);
    out.push(sample("queue_unreadable", { queue: label(q) }, q.unreadable?.length ?? 0));
  }
  return `${out.join("\n")}\n`;
}

const label = (q: QueueMetrics): string => q.queue ?? q.counts?.queue ?? "";

/**
 * The limits: settings as gauges (no sample for a limit not set), the held keys' count, and for
 * the keys a Retry-After holds (among the HELD_SHOWN latest: keys are hosts, a label per key
 * must stay bounded) the seconds until their hold ends and their running jobs.
 */
function limitFamilies(queues: readonly QueueMetrics[]): string[] {
  const out: string[] = [];
  const gauge = (name: string, help: string, each: (q: string, v: LimitsView) => string[]) => {
    out.push(`# HELP courier_${name} ${help}`, `# TYPE courier_${name} gauge`);
    for (const q of queues) if (q.limits) out.push(...each(label(q), q.limits));
  };
  gauge("limit_rate_per_second", "The queue's limit on starts, per second.", (queue, v) =>
    v.rate ? [sample("limit_rate_per_second", { queue }, perSecond(v.rate))] : [],
  );
  gauge("limit_key_rate_per_second", "The limit on starts per key, per second.", (queue, v) =>
    v.keyRate ? [sample("limit_key_rate_per_second", { queue }, perSecond(v.keyRate))] : [],
  );
  gauge("limit_key_concurrency", "The limit on running jobs per key.", (queue, v) =>
    v.keyConcurrency === null ? [] : [sample("limit_key_concurrency", { queue }, v.keyConcurrency)],
  );
  gauge("limit_held_keys", "Keys whose jobs wait for a slot or a Retry-After.", (queue, v) =>
    v.unreadable === undefined ? [sample("limit_held_keys", { queue }, v.heldTotal)] : [],
  );
  gauge(
    "limits_unreadable",
    "1 when the limits could not be read (a key of another type).",
    (queue, v) => [sample("limits_unreadable", { queue }, v.unreadable === undefined ? 0 : 1)],
  );
  // Per key only the keys a task's hold is on: few, and stable for their hold's length (a key
  // waiting for its next slot by the rate changes at every start: a series each, churning).
  const holds = (v: LimitsView) => v.held.filter((h) => h.retryAfter);
  gauge(
    "limit_held_seconds",
    "Seconds until a key held by a Retry-After may start a job.",
    (queue, v) =>
      holds(v).map((h) => {
        const seconds = Math.max(0, h.nextMs - v.nowMs) / 1_000;
        return sample("limit_held_seconds", { queue, key: h.key }, seconds);
      }),
  );
  gauge("limit_key_running", "Jobs running now of a key held by a Retry-After.", (queue, v) =>
    holds(v).flatMap((h) =>
      h.running === null ? [] : [sample("limit_key_running", { queue, key: h.key }, h.running)],
    ),
  );
  return out;
}

/**
 * The queue's schedules and how many are overdue; then per schedule shown (the first
 * SCHEDULES_SHOWN by name: a label per schedule must stay bounded; a definition Courier did not
 * write is left out, as `info` leaves it: it never fires): its next run, paused, and how late
 * that run is by Redis' clock.
 */
function scheduleFamilies(queues: readonly QueueMetrics[]): string[] {
  const out: string[] = [];
  const count = (name: string, help: string, value: (s: QueueSchedules) => number) => {
    out.push(`# HELP courier_${name} ${help}`, `# TYPE courier_${name} gauge`);
    for (const q of queues) {
      if (q.schedules) out.push(sample(name, { queue: label(q) }, value(q.schedules)));
    }
  };
  count("schedules", "Recurring schedules of the queue, paused ones too.", (s) => s.total);
  count(
    "schedules_overdue",
    `Schedules whose next run is over ${LATE_MS / 1000} s past by Redis' clock: nothing fires them.`,
    (s) => s.overdue,
  );
  const gauge = (
    name: string,
    help: string,
    value: (s: ScheduleInfo, nowMs: number) => number | null,
  ) => {
    out.push(`# HELP courier_${name} ${help}`, `# TYPE courier_${name} gauge`);
    for (const q of queues) {
      for (const s of q.schedules?.shown ?? []) {
        const v = s.def === null ? null : value(s, q.schedules!.nowMs);
        if (v !== null) out.push(sample(name, { queue: label(q), schedule: s.name }, v));
      }
    }
  };
  gauge(
    "schedule_next_run_seconds",
    "When the schedule runs next, Unix seconds by Redis' clock (none when paused or ended).",
    (s) => (s.next === null ? null : s.next / 1_000),
  );
  gauge("schedule_paused", "1 while the schedule is paused.", (s) => (s.def!.paused ? 1 : 0));
  gauge(
    "schedule_overdue_seconds",
    "Seconds the next run is past due by Redis' clock (0 when not due yet, paused or ended).",
    (s, nowMs) => (s.next === null ? 0 : Math.max(0, nowMs - s.next) / 1_000),
  );
  return out;
}

function histogram(queue: string, d: Durations): string[] {
  // A bucket or sum that holds no whole number: the queue's histogram is left out whole (one
  // bucket less would make the others wrong, since they are cumulative).
  if (![d.sumMs, ...d.buckets.values()].every(isCount)) return [];
  const lines: string[] = [];
  let cumulative = 0;
  for (const bound of [...DURATION_BOUNDS_MS, Number.POSITIVE_INFINITY]) {
    cumulative += d.buckets.get(bound) ?? 0;
    const le = bound === Number.POSITIVE_INFINITY ? "+Inf" : String(bound / 1_000);
    lines.push(sample("job_duration_seconds_bucket", { queue, le }, cumulative));
  }
  lines.push(sample("job_duration_seconds_sum", { queue }, d.sumMs / 1_000));
  lines.push(sample("job_duration_seconds_count", { queue }, d.count));
  return lines;
}

/**
 * The longest label value shown whole: longer than any name (ID_SHOWN_MAX) or limit key
 * (LIMIT_KEY_MAX_BYTES) Courier takes, so two of them never share a series.
 */
const LABEL_SHOWN_MAX = Math.max(ID_SHOWN_MAX, LIMIT_KEY_MAX_BYTES);

/**
 * One sample line. A label value is cut past LABEL_SHOWN_MAX (cutText): a schedule name of 1 MB
 * written by hand made each of its lines 1 MB.
 */
function sample(name: string, labels: Record<string, string>, value: number): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(cutText(v, LABEL_SHOWN_MAX))}"`)
    .join(",");
  return `courier_${name}{${text}} ${formatValue(value)}`;
}

/** Label values escape backslash, double quote and newline (the format's only escapes). */
export function escapeLabel(value: string): string {
  const escaped = value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  // Other control characters are never raw (a terminal reading the page would obey them): as
  // the text `\x1b`, its backslash escaped, since the format knows no other escape.
  const c0c1 = escaped.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    return `\\\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  // Bidi controls and what shows nothing or breaks a line unseen (a limit key may hold them):
  // as safeText spells them (`\u202e`), their backslash escaped too. Labels are mostly ASCII.
  return c0c1.replace(/[^\u0000-\u007f]/gu, (c) => {
    const shown = safeText(c);
    return shown === c ? c : `\\${shown}`;
  });
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}
