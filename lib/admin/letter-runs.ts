// Dead letters requeued in runs bounded by bytes (R92 finding 3): a letter holds its job's
// payload, and requeue.lua copies each letter it requeues into the stream in one call, so 500
// letters of 256 KB would hold Redis as long as 500 such jobs enqueued at once. `requeue --all`
// reads pages sized to about MOVE_BYTES of letters and requeues each page in runs of at most that,
// and tallies what the runs did (RequeueAllTally).

import { MOVE_BYTES } from "../config.ts";
import type { RequeueReply } from "../engine/requeue.ts";
import { Cutter, textBytes } from "../queue/cut.ts";

/** Letters a page holds at most, and at first (until a page says how large letters are). */
export const PAGE_MOST = 500;
export const PAGE_FIRST = 16;

/** A letter's bytes: its fields' names and values. */
export function letterBytes(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) n += textBytes(f);
  return n;
}

/**
 * Items in runs, in order, each weighing at most `max` (one heavier item alone), cut as bulk
 * enqueue's batches are (Cutter): the calls a page of letters is requeued in.
 */
export function runsByBytes<T>(items: readonly T[], weigh: (t: T) => number, max = MOVE_BYTES) {
  const cutter = new Cutter<T, T>({ count: Number.POSITIVE_INFINITY, bytes: max });
  const runs: T[][] = [];
  for (const item of items) {
    for (const run of cutter.add(item, item, weigh(item))) runs.push(run.items);
  }
  const rest = cutter.rest();
  if (rest) runs.push(rest.items);
  return runs;
}

/** The next page's count: about `max` bytes of letters as large as this page's, 1 to PAGE_MOST. */
export function nextPageCount(count: number, bytes: number, max = MOVE_BYTES): number {
  if (count === 0 || bytes === 0) return PAGE_MOST;
  return Math.max(1, Math.min(PAGE_MOST, Math.floor((max * count) / bytes)));
}

/**
 * What a requeue of every letter did: how many it requeued, and how many it left because their
 * job's record or failed value is a key of another type, the first of them named (memory
 * bounded however many there are).
 */
export interface RequeueAllTally {
  requeued: number;
  unreadable: number;
  /** The first letter left unreadable: its job id, and the script's `courier: key …`. */
  first: { id: string; reason: string } | null;
  /**
   * The failure (a full Redis, no answer) that stopped a shard's requeue after letters were
   * requeued or answered: the counts say what was done (R106). None done: thrown instead.
   */
  error?: unknown;
}

/** Adds one call's answers to `t`. */
export function tallyRequeued(t: RequeueAllTally, done: readonly RequeueReply[]): void {
  for (const d of done) {
    if (d.verdict === "requeued") t.requeued++;
    if (d.verdict !== "unreadable") continue;
    t.unreadable++;
    t.first ??= { id: d.id, reason: d.reason };
  }
}
