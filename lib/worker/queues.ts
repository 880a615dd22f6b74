// The queues a worker serves (`--queue high,default,low`), opened at start: each checked
// (permissions, data format) and its layout read or recorded, then flattened into the shards the
// worker reads, each with its queue's rank (lib/worker/order.ts). One queue: today's worker.
import type { WorkerOptions } from "../config.ts";
import { checkFormat } from "../engine/format.ts";
import { type QueueKeys, queueKeys } from "../engine/keys.ts";
import { openLayout } from "../engine/layout.ts";
import { ConfigError, UnavailableError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { checkPermissions, workerCommands } from "../redis/permissions.ts";

/** One shard the worker reads: its queue, rank (the queue's place in the list) and keys. */
export interface ServedShard {
  queue: string;
  rank: number;
  /** The queue's shard count (its shards check their own permissions when above 1). */
  shards: number;
  keys: QueueKeys;
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
  for (const [rank, queue] of queues.entries()) {
    const keys = queueKeys(o.prefix, queue);
    await checkPermissions(client, workerCommands(keys, o.name), o.prefix);
    await checkFormat(client, keys);
    const layout = await openLayout(client, o.prefix, queue, o.shards, true).catch(fixed);
    for (const k of layout.keys) served.push({ queue, rank, shards: layout.shards, keys: k });
  }
  return served;
}

/**
 * A shard count the queue does not have: the queue's state, fixed at its creation, not an
 * option's spelling (the CLI then points at no --help: the line says what to do).
 */
function fixed(err: unknown): never {
  if (!(err instanceof ConfigError) || err instanceof UnavailableError) throw err;
  throw new UnavailableError(err.message, { cause: err });
}
