// The queues a worker serves (`--queue high,default,low`), opened at start: each checked
// (permissions, data format) and its layout read or recorded, then flattened into the shards the
// worker reads, each with its queue's rank (lib/worker/order.ts). One queue: today's worker.
import type { WorkerOptions } from "../config.ts";
import { checkFormat } from "../engine/format.ts";
import { LEVELS, type Level, levelKeys, type QueueKeys, queueKeys } from "../engine/keys.ts";
import { openLayout } from "../engine/layout.ts";
import { ConfigError, UnavailableError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { checkPermissions, workerCommands } from "../redis/permissions.ts";
import type { OrderOptions } from "./order.ts";

/**
 * One shard the worker reads, at one level: its queue, rank (its place in the order: the
 * queue's place in the list, each of its levels in turn when it has them) and keys.
 */
export interface ServedShard {
  queue: string;
  /** The queue's place in the list (0 first). */
  place: number;
  rank: number;
  level: Level;
  /** The queue's shard count (its shards check their own permissions when above 1). */
  shards: number;
  keys: QueueKeys;
  /**
   * Every shard's keys of the queue (its layout's, shard s at index s): one array for all its
   * shards, computed once (a shard tag costs a search: per shard, a worker of N shards spent
   * N² searches starting, minutes at 1,024).
   */
  queueKeys: readonly QueueKeys[];
}

/**
 * Opens each queue in turn (a queue of another format is refused before its layout is
 * written) and lists every shard of every queue, the first queue's first.
 */
export async function openQueues(
  client: Redis,
  o: WorkerOptions,
  queues: readonly string[],
): Promise<ServedShard[]> {
  const served: ServedShard[] = [];
  let rank = 0;
  for (const [place, queue] of queues.entries()) {
    const keys = queueKeys(o.prefix, queue);
    await checkPermissions(client, workerCommands(keys, o.name), o.prefix);
    await checkFormat(client, keys);
    const layout = await openLayout(client, o.prefix, queue, o.shards, true).catch(fixed);
    const levels = (await hasLevels(client, layout.keys)) ? LEVELS : (["normal"] as const);
    for (const level of levels) {
      for (const k of layout.keys) {
        const at = { queue, place, rank, level, shards: layout.shards, queueKeys: layout.keys };
        served.push({ ...at, keys: levelKeys(k, level) });
      }
      rank++;
    }
  }
  return served;
}

/**
 * Whether the queue has priority levels: a shard's meta says `levels 1` once a high or low job
 * was enqueued there (enqueue.lua). A queue without them is read as it always was (no level's
 * stream or group made, no connection more); one that gets its first high or low job after
 * the worker started is read at its levels from the worker's next start (docs/internals.md,
 * "Priority levels").
 */
async function hasLevels(client: Redis, keys: readonly QueueKeys[]): Promise<boolean> {
  const said = await Promise.all(
    keys.map((k) => client.sendCommand<string | null>(["HGET", k.meta, "levels"])),
  );
  return said.some((v) => v === "1");
}

/**
 * A shard count the queue does not have: the queue's state, fixed at its creation, not an
 * option's spelling (the CLI then points at no --help: the line says what to do).
 */
function fixed(err: unknown): never {
  if (!(err instanceof ConfigError) || err instanceof UnavailableError) throw err;
  throw new UnavailableError(err.message, { cause: err });
}

/**
 * The order over the ranks the worker serves, or null when it has one (one queue without
 * levels: nothing is gated). A queue's levels are ranks of their own, each drawn with its
 * queue's weight in the weighted order (strict within a queue only in the strict order).
 */
export function rankOrder(
  order: OrderOptions,
  served: readonly ServedShard[],
): OrderOptions | null {
  const ranks = new Map(served.map((s) => [s.rank, s.place]));
  if (ranks.size === 1) return null;
  const weights = [...ranks.keys()].sort((a, b) => a - b).map((r) => order.weights[ranks.get(r)!]!);
  return { ...order, weights };
}
