// The order in which a worker of several queues serves them (`worker --queue high,default,low`,
// like `rq worker high default low`). Each queue has a rank, its place in the list (0 first).
// "strict": a freed slot goes to the first queue that wants one (a read loop waiting with
// entries to read, or an entry held for a slot); a later queue reads only while every earlier
// one came back empty. "weighted": each time a slot frees, one of the queues that want it is
// drawn with probability by its weight (6,3,1: the first gets 60 % of the turns while all three
// have jobs), so a busy first queue cannot starve the others. lib/worker/slots.ts applies it.
import { QUEUE_NAME } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { kind } from "../option-keys.ts";

export type QueueOrder = "strict" | "weighted";
export const QUEUE_ORDERS: readonly QueueOrder[] = ["strict", "weighted"];

/** How a worker of several queues picks the queue a freed slot goes to. */
export interface OrderOptions {
  order: QueueOrder;
  /** One weight per queue, each a whole number from 1 to 1000 ("weighted" only). */
  weights: readonly number[];
  /** In [0, 1): the draw of weighted turns (WorkerOptions.random, injectable in tests). */
  random: () => number;
}

/** Most queues one worker serves: each has its own connections (2 or 3 per shard). */
export const MAX_QUEUES = 16;

/**
 * The queues a worker serves, in order: `queues` if given, else `queue` split on commas (a
 * comma is in no queue name, QUEUE_NAME, so "high,default,low" is unambiguous).
 */
export function queueList(queue: unknown, queues?: unknown): string[] {
  const given = queues === undefined ? [] : queueNames(queues);
  if (typeof queue !== "string") {
    throw new ConfigError(`queue must be a string, got ${kind(queue)}`);
  }
  const list = given.length > 0 ? given : queueNames(queue.split(","));
  if (new Set(list).size !== list.length) {
    throw new ConfigError(`queue list "${list.join(",")}" names a queue twice`);
  }
  if (list.length > MAX_QUEUES) {
    throw new ConfigError(`a worker serves at most ${MAX_QUEUES} queues, got ${list.length}`);
  }
  return list;
}

/** `queues` (a Worker's, a scheduler's), each checked as a queue name. */
export function queueNames(queues: unknown): string[] {
  if (!Array.isArray(queues)) {
    throw new ConfigError(`queues must be an array of queue names, got ${kind(queues)}`);
  }
  for (const q of queues) {
    if (typeof q !== "string" || !QUEUE_NAME.test(q)) {
      throw new ConfigError(`queue name ${kind(q)} must be 1-100 letters, digits or _.:-`);
    }
  }
  return [...queues];
}

/**
 * Checks order and weights against the queue count: weights only with "weighted", and then
 * one per queue (none given: all 1, a fair draw).
 */
export function orderOptions(
  count: number,
  order: QueueOrder = "strict",
  weights?: readonly number[],
  random: () => number = Math.random,
): OrderOptions {
  if (!QUEUE_ORDERS.includes(order)) {
    throw new ConfigError(`order must be strict or weighted, got ${JSON.stringify(order)}`);
  }
  if (weights !== undefined && order !== "weighted") {
    throw new ConfigError("weights apply to the weighted order only (add order weighted)");
  }
  const w = weights ?? Array.from({ length: count }, () => 1);
  if (w.length !== count) {
    throw new ConfigError(`weights must give one weight per queue: ${count}, got ${w.length}`);
  }
  for (const x of w) {
    if (!Number.isInteger(x) || x < 1 || x > 1000) {
      throw new ConfigError(`a weight must be a whole number from 1 to 1000, got ${kind(x)}`);
    }
  }
  return { order, weights: w, random };
}

/**
 * The rank a freed slot goes to, among `ranks` (those that want one, not empty): the first in
 * strict order; drawn by weight in weighted order.
 */
export function pickRank(o: OrderOptions, ranks: ReadonlySet<number>): number {
  const list = [...ranks].sort((a, b) => a - b);
  if (o.order === "strict" || list.length === 1) return list[0] as number;
  const total = list.reduce((sum, r) => sum + (o.weights[r] ?? 1), 0);
  let draw = o.random() * total;
  for (const r of list) {
    draw -= o.weights[r] ?? 1;
    if (draw < 0) return r;
  }
  return list[list.length - 1] as number;
}
