// Issue 11's targets (Engine v2), checked against a run: each figure is the best of its rounds
// (the fastest round's jobs/s, the lowest latency, µs or bytes), a ratio is best against best.
// Without AOF each figure meets its bound or misses it; with AOF (appendfsync everysec) the
// same figure must stay within 15% of its value without AOF. A target whose figures were not
// measured in this run (--only, --contenders) is left out.
import { best, type Contender, type Figure, formatNumber, round } from "./_figures.ts";

export interface TargetResult {
  target: string;
  persistence: Figure["persistence"];
  /** The figure, in `unit`: a ratio (x), a share (%), µs or bytes per job. */
  value: number;
  unit: string;
  /** What the figure must be, e.g. ">= 3.5x", or "within 15% of 2.11x" with AOF. */
  need: string;
  met: boolean;
  /** The measurements behind the figure, e.g. "48,817 vs 23,186 jobs/s (bullmq c128)". */
  detail: string;
}

type Get = (name: string, c: Contender) => Figure | undefined;

interface Measured {
  value: number;
  detail: string;
}

interface Spec {
  target: string;
  unit: "x" | "%" | "µs" | "B";
  op: ">=" | "<=";
  bound: number;
  measure: (get: Get) => Measured | undefined;
}

/** Allowed difference of a figure with AOF from the same figure without. */
export const AOF_TOLERANCE = 0.15;

/** a / b of two figures' best values, as x or % (detail names both). */
function ratio(a: Figure | undefined, b: Figure | undefined, pct = false): Measured | undefined {
  if (!a || !b) return undefined;
  const x = best(a) / best(b);
  const detail = `${formatNumber(best(a))} vs ${formatNumber(best(b))} ${a.unit} (${b.contender}${label(b)})`;
  return { value: pct ? x * 100 : x, detail };
}

/** A figure on its own, with the other contenders' in the detail. */
function alone(get: Get, name: string, others: Contender[]): Measured | undefined {
  const f = get(name, "courier");
  if (!f) return undefined;
  const rest = others.flatMap((c) => {
    const o = get(name, c);
    return o ? [`${c} ${formatNumber(best(o))}`] : [];
  });
  return { value: best(f), detail: rest.length ? rest.join(", ") : "" };
}

function label(f: Figure): string {
  const m = /^noop\.1proc\.(c\d+)$/.exec(f.name);
  return m ? ` ${m[1]}` : "";
}

/** The contender's fastest no-op figure with one worker process, over the concurrencies run. */
function bestConcurrency(all: readonly Figure[], c: Contender): Figure | undefined {
  let top: Figure | undefined;
  for (const f of all) {
    if (f.contender !== c || !/^noop\.1proc\.c\d+$/.test(f.name)) continue;
    if (!top || best(f) > best(top)) top = f;
  }
  return top;
}

function specs(all: readonly Figure[]): Spec[] {
  const c128 = (get: Get) => get("noop.1proc.c128", "courier");
  return [
    {
      target: "no-op, 1 worker process, c128, vs BullMQ's best concurrency",
      unit: "x",
      op: ">=",
      bound: 3.5,
      measure: (get) => ratio(c128(get), bestConcurrency(all, "bullmq")),
    },
    {
      target: "no-op, 1 worker process, c128, share of the raw Streams loop (its best)",
      unit: "%",
      op: ">=",
      bound: 80,
      measure: (get) => ratio(c128(get), bestConcurrency(all, "raw"), true),
    },
    {
      target: "Redis µs per processed job (commandstats, top-level calls; c128)",
      unit: "µs",
      op: "<=",
      bound: 8,
      measure: (get) => alone(get, "noop.redis.usec", ["bullmq", "raw"]),
    },
    {
      target: "Redis µs per enqueued job (commandstats, top-level calls; bulk)",
      unit: "µs",
      op: "<=",
      bound: 3,
      measure: (get) => alone(get, "enqueue.redis.usec", ["bullmq", "raw"]),
    },
    {
      target: "no-op, concurrency 1, vs BullMQ concurrency 1",
      unit: "x",
      op: ">=",
      bound: 1.2,
      measure: (get) => ratio(get("noop.1proc.c1", "courier"), get("noop.1proc.c1", "bullmq")),
    },
    ...(["p50", "p99"] as const).map(
      (p): Spec => ({
        target: `latency enqueue → library wait wakes, ${p}, vs BullMQ waitUntilFinished`,
        unit: "x",
        op: "<=",
        bound: p === "p50" ? 0.6 : 0.5,
        measure: (get) =>
          ratio(get(`latency.waiter.${p}`, "courier"), get(`latency.waiter.${p}`, "bullmq")),
      }),
    ),
    {
      target: "bulk enqueue in process, enqueueMany vs BullMQ addBulk",
      unit: "x",
      op: ">=",
      bound: 5,
      measure: (get) => ratio(get("enqueue.bulk", "courier"), get("enqueue.bulk", "bullmq")),
    },
    {
      target: "bulk enqueue in process, share of raw pipelined XADD",
      unit: "%",
      op: ">=",
      bound: 85,
      measure: (get) => ratio(get("enqueue.bulk", "courier"), get("enqueue.bulk", "raw"), true),
    },
    {
      target: "trigger --file, whole process, vs a BullMQ addBulk script, whole process",
      unit: "x",
      op: ">=",
      bound: 4,
      measure: (get) =>
        ratio(get("enqueue.trigger-file", "courier"), get("enqueue.trigger-file", "bullmq")),
    },
    {
      target: "cluster 3+3, 6 shards, 1 worker process, vs the same on one redis-server (issue 12)",
      unit: "x",
      op: ">=",
      bound: 0.6,
      measure: (get) =>
        ratio(get("cluster.3x3.1proc", "courier"), get("cluster.single6.1proc", "courier")),
    },
    {
      target: "the same, vs one redis-server with a queue of 1 shard (stricter than issue 12)",
      unit: "x",
      op: ">=",
      bound: 0.6,
      measure: (get) =>
        ratio(get("cluster.3x3.1proc", "courier"), get("cluster.single.1proc", "courier")),
    },
    {
      target: "Redis memory per queued job",
      unit: "B",
      op: "<=",
      bound: 150,
      measure: (get) => alone(get, "cost.mem.queued", ["bullmq", "raw"]),
    },
    {
      target: "Redis memory per kept result",
      unit: "B",
      op: "<=",
      bound: 400,
      measure: (get) => alone(get, "cost.mem.result", ["bullmq", "raw"]),
    },
  ];
}

export function checkTargets(figures: readonly Figure[]): TargetResult[] {
  const pass = (p: Figure["persistence"]) => {
    const all = figures.filter((f) => f.persistence === p);
    const get: Get = (name, c) => all.find((f) => f.name === name && f.contender === c);
    return specs(all).map((s) => ({ s, m: s.measure(get) }));
  };
  const out: TargetResult[] = [];
  const off = pass("off");
  for (const { s, m } of off) {
    if (!m) continue;
    const met = s.op === ">=" ? m.value >= s.bound : m.value <= s.bound;
    const need = `${s.op} ${show(s.bound, s.unit)}`;
    out.push({
      target: s.target,
      persistence: "off",
      value: round(m.value),
      unit: s.unit,
      need,
      met,
      detail: m.detail,
    });
  }
  pass("aof").forEach(({ s, m }, i) => {
    const without = off[i]!.m;
    if (!m) return;
    const need = without
      ? `within ${AOF_TOLERANCE * 100}% of ${show(without.value, s.unit)}`
      : "reported";
    const met = without ? Math.abs(m.value / without.value - 1) <= AOF_TOLERANCE : true;
    out.push({
      target: s.target,
      persistence: "aof",
      value: round(m.value),
      unit: s.unit,
      need,
      met,
      detail: m.detail,
    });
  });
  return out;
}

/** A value with its unit: 2.11x, 58%, 16.8 µs, 298 B. */
export function show(v: number, unit: string): string {
  const n = formatNumber(round(v));
  return unit === "x" || unit === "%" ? `${n}${unit}` : `${n} ${unit}`;
}

/** The targets as a Markdown table, ready for docs/performance.md. */
export function formatTargets(results: readonly TargetResult[]): string {
  const rows = results.map((r) => {
    const what = r.persistence === "aof" ? `${r.target} [AOF everysec]` : r.target;
    const verdict = r.met ? "met" : "**missed**";
    return `| ${what} | ${show(r.value, r.unit)} | ${r.detail} | ${r.need} | ${verdict} |`;
  });
  return [
    "| figure | courier | measured | target | verdict |",
    "|---|--:|---|---|---|",
    ...rows,
  ].join("\n");
}
