// Figures: samples collected round by round, reduced to one JSON line per figure (median, min,
// max over the rounds), and the table printed at the end of a run.

export type Contender = "courier" | "bullmq" | "raw" | "rq";
export const CONTENDERS: readonly Contender[] = ["courier", "bullmq", "raw", "rq"];

/** One printed figure: what `bun run bench` writes, one JSON object per line. */
export interface Figure {
  workload: string;
  name: string;
  contender: Contender;
  /** Redis persistence during the measurement: "off", or "aof" (appendfsync everysec). */
  persistence: "off" | "aof";
  median: number;
  min: number;
  max: number;
  unit: string;
  rounds: number;
}

/** Collects one value per round for each (figure, contender) and reduces them. */
export class Recorder {
  #samples = new Map<
    string,
    { key: Omit<Figure, "median" | "min" | "max" | "rounds">; values: number[] }
  >();

  constructor(
    readonly workload: string,
    readonly persistence: Figure["persistence"],
  ) {}

  add(name: string, contender: Contender, unit: string, value: number): void {
    const id = `${name}\u0000${contender}`;
    let entry = this.#samples.get(id);
    if (!entry) {
      const key = { workload: this.workload, name, contender, persistence: this.persistence, unit };
      entry = { key, values: [] };
      this.#samples.set(id, entry);
    }
    entry.values.push(value);
  }

  figures(): Figure[] {
    return [...this.#samples.values()].map(({ key, values }) => ({
      ...key,
      median: round(median(values)),
      min: round(Math.min(...values)),
      max: round(Math.max(...values)),
      rounds: values.length,
    }));
  }
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1]!;
}

/** Three significant digits, at most three decimals: enough for jobs/s, ms and bytes. */
export function round(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const digits = Math.max(0, Math.min(3, 2 - Math.floor(Math.log10(Math.abs(v)))));
  return Number(v.toFixed(digits));
}

/** The end-of-run table: one row per figure, one column per contender (medians). */
export function formatTable(figures: readonly Figure[]): string {
  const rows = new Map<
    string,
    { label: string; unit: string; cells: Partial<Record<Contender, Figure>> }
  >();
  for (const f of figures) {
    const label = f.persistence === "off" ? f.name : `${f.name} [aof]`;
    const row = rows.get(label) ?? { label, unit: f.unit, cells: {} };
    row.cells[f.contender] = f;
    rows.set(label, row);
  }
  const used = CONTENDERS.filter((c) => figures.some((f) => f.contender === c));
  const header = ["figure", "unit", ...used];
  const lines = [...rows.values()].map((r) => [
    r.label,
    r.unit,
    ...used.map((c) => (r.cells[c] ? formatNumber(r.cells[c]!.median) : "-")),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]) =>
    `| ${cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [fmt(header), rule, ...lines.map(fmt)].join("\n");
}

export function formatNumber(v: number): string {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return String(v);
}

/** Whether a bigger value of this unit is better (throughput) or worse (time, bytes, CPU). */
export function higherIsBetter(unit: string): boolean {
  return unit === "jobs/s" || unit === "MB/s";
}

/** The best of its rounds: the fastest round's throughput, the lowest time or size. */
export function best(f: Figure): number {
  return higherIsBetter(f.unit) ? f.max : f.min;
}
