// The targets, checked against the medians of a run (persistence off). A target whose
// figures were not measured in this run (--only, --contenders) is left out.
import { type Contender, type Figure, formatNumber } from "./_figures.ts";

export interface TargetResult {
  target: string;
  met: boolean;
  detail: string;
}

export function checkTargets(figures: readonly Figure[]): TargetResult[] {
  const off = figures.filter((f) => f.persistence === "off");
  const get = (name: string, c: Contender) =>
    off.find((f) => f.name === name && f.contender === c)?.median;
  const best = (c: Contender) => {
    const rows = off.filter((f) => f.contender === c && /^noop\.1proc\./.test(f.name));
    if (rows.length === 0) return undefined;
    return rows.reduce((a, b) => (b.median > a.median ? b : a));
  };
  const out: TargetResult[] = [];
  const ratio = (
    target: string,
    a: number | undefined,
    b: number | undefined,
    k: number,
    what: string,
  ) => {
    if (a === undefined || b === undefined) return;
    const x = a / b;
    out.push({ target, met: x >= k, detail: `${what}: ${x.toFixed(2)}x (needs ${k}x)` });
  };

  const [courierBest, bullBest, rawBest] = [best("courier"), best("bullmq"), best("raw")];
  const noopWhat = (o: Figure | undefined) =>
    `courier ${describe(courierBest)} vs ${o?.contender} ${describe(o)}`;
  ratio("no-op >= 3x BullMQ's best", courierBest?.median, bullBest?.median, 3, noopWhat(bullBest));
  ratio(
    "no-op >= 40% of the raw limit",
    courierBest?.median,
    rawBest?.median,
    0.4,
    noopWhat(rawBest),
  );
  const [cb, bb] = [get("enqueue.bulk", "courier"), get("enqueue.bulk", "bullmq")];
  ratio("bulk enqueue >= 3x BullMQ addBulk", cb, bb, 3, `${fmt(cb)} vs ${fmt(bb)} jobs/s`);
  for (const kind of ["recorded", "waiter"]) {
    const [c50, b50] = [
      get(`latency.${kind}.p50`, "courier"),
      get(`latency.${kind}.p50`, "bullmq"),
    ];
    if (c50 !== undefined && b50 !== undefined) {
      const detail = `courier ${c50} ms vs bullmq ${b50} ms`;
      out.push({ target: `latency (${kind}) p50 <= BullMQ's`, met: c50 <= b50, detail });
    }
    const c99 = get(`latency.${kind}.p99`, "courier");
    if (c99 !== undefined) {
      out.push({ target: `latency (${kind}) p99 < 2 ms`, met: c99 < 2, detail: `${c99} ms` });
    }
  }
  const [ci, ri] = [get("io.wordcount", "courier"), get("io.wordcount", "rq")];
  ratio("I/O word count >= 50x RQ", ci, ri, 50, `${fmt(ci)} vs ${fmt(ri)} jobs/s`);
  const rss = (name: string) => off.find((f) => f.name === name && f.contender === "courier");
  const [growth, single] = [rss("cost.rss.growth-median"), rss("cost.rss.growth")];
  if (growth) {
    const detail =
      `RSS ${growth.median}x, median of the readings near 100k jobs to the median near the end` +
      ` (single readings: ${single?.median ?? "?"}x) (needs <= 1.1x)`;
    out.push({ target: "worker RSS flat within 10%", met: growth.median <= 1.1, detail });
  }
  return out;
}

function describe(f: Figure | undefined): string {
  return f ? `${fmt(f.median)} jobs/s (${f.name.replace("noop.1proc.", "")})` : "?";
}

function fmt(v: number | undefined): string {
  return v === undefined ? "?" : formatNumber(v);
}

export function formatTargets(results: readonly TargetResult[]): string {
  return results.map((r) => `${r.met ? "MET   " : "MISSED"} ${r.target}: ${r.detail}`).join("\n");
}
