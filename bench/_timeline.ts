// The failover timeline's arithmetic (bench/cluster-timeline.ts): events counted per shard in
// 100 ms buckets relative to the `kill -9`, each shard's first error and resume, and the table
// docs/performance.md shows. Pure, so tests/bench.test.ts checks it without a cluster.

export const BUCKET_MS = 100;

export interface Tally {
  /** Enqueues acknowledged. */
  ok: number;
  /** Enqueues that failed. */
  errors: number;
}

/** Counts per bucket (index = floor((t - killAt) / 100 ms)) per shard. */
export class Timeline {
  readonly #buckets = new Map<number, Tally[]>();
  /** Warnings and errors the worker logged, any shard or none. */
  readonly #worker = new Map<number, number>();

  constructor(
    readonly shards: number,
    readonly killAt: () => number | undefined,
  ) {}

  #bucket(at: number): number | undefined {
    const kill = this.killAt();
    return kill === undefined ? undefined : Math.floor((at - kill) / BUCKET_MS);
  }

  add(shard: number, at: number, what: keyof Tally): void {
    const b = this.#bucket(at);
    if (b === undefined || shard < 0 || shard >= this.shards) return; // before the start
    let row = this.#buckets.get(b);
    if (!row) {
      row = Array.from({ length: this.shards }, () => ({ ok: 0, errors: 0 }));
      this.#buckets.set(b, row);
    }
    row[shard]![what]++;
  }

  addWorker(at: number): void {
    const b = this.#bucket(at);
    if (b !== undefined) this.#worker.set(b, (this.#worker.get(b) ?? 0) + 1);
  }

  get(bucket: number, shard: number): Tally {
    return this.#buckets.get(bucket)?.[shard] ?? { ok: 0, errors: 0 };
  }

  worker(bucket: number): number {
    return this.#worker.get(bucket) ?? 0;
  }

  /** Buckets with any count, in order. */
  buckets(): number[] {
    return [...this.#buckets.keys()].sort((a, b) => a - b);
  }
}

export interface ShardSummary {
  shard: number;
  onKilledMaster: boolean;
  /** Enqueues that failed after the kill. */
  errors: number;
  /** ms from the kill to the start of the first bucket with an error (none: null). */
  firstErrorMs: number | null;
  /** ms from the kill to the end of the last bucket with an error: enqueues succeed from there (none: null). */
  resumeMs: number | null;
  /** The longest run of buckets after the kill without one acknowledged enqueue, in ms. */
  longestGapMs: number;
}

/** Per shard, from the kill to bucket `lastBucket`: its errors, when they began and ended, its longest gap. */
export function summariseShards(
  t: Timeline,
  killed: readonly number[],
  lastBucket: number,
): ShardSummary[] {
  return Array.from({ length: t.shards }, (_, shard) => {
    let errors = 0;
    let first: number | null = null;
    let last: number | null = null;
    let gap = 0;
    let longest = 0;
    for (let b = 0; b <= lastBucket; b++) {
      const c = t.get(b, shard);
      errors += c.errors;
      if (c.errors > 0) {
        first ??= b;
        last = b;
      }
      gap = c.ok === 0 ? gap + 1 : 0;
      longest = Math.max(longest, gap);
    }
    return {
      shard,
      onKilledMaster: killed.includes(shard),
      errors,
      firstErrorMs: first === null ? null : first * BUCKET_MS,
      resumeMs: last === null ? null : (last + 1) * BUCKET_MS,
      longestGapMs: longest * BUCKET_MS,
    };
  });
}

/**
 * The Markdown table: one row per 100 ms from `from` to `to` (bucket indexes), a column per
 * shard with "acknowledged enqueues / errors" († marks the killed master's shards), and the
 * warnings the worker logged. Rows the same as the row before (nothing acknowledged,
 * nothing failed) are folded into one "…" row.
 */
export function formatTimeline(
  t: Timeline,
  killed: readonly number[],
  from: number,
  to: number,
): string {
  const shards = Array.from({ length: t.shards }, (_, s) => s);
  const head = shards.map((s) => `shard ${s}${killed.includes(s) ? " †" : ""}`);
  const lines = [
    `| ms after kill | ${head.join(" | ")} | worker warnings |`,
    `|--:|${shards.map(() => "--:|").join("")}--:|`,
  ];
  let folded = 0;
  let previous = "";
  for (let b = from; b <= to; b++) {
    const cells = shards.map((s) => {
      const c = t.get(b, s);
      return c.errors > 0 ? `${c.ok} / **${c.errors}**` : `${c.ok} / 0`;
    });
    const worker = t.worker(b);
    const shape = `${cells.join()} ${worker}`;
    if (shape === previous && b !== to) {
      folded++;
      continue;
    }
    if (folded > 0) lines.push(`| … ${folded} × the same |${shards.map(() => " |").join("")} |`);
    folded = 0;
    previous = shape;
    lines.push(`| ${b * BUCKET_MS} | ${cells.join(" | ")} | ${worker} |`);
  }
  return lines.join("\n");
}
