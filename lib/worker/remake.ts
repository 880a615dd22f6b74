// A shard whose stream vanished under a running worker (NOGROUP: Redis emptied, or restarted
// without its data): the queue is made again as the worker opened it, its shard count, then the
// shard's format, before its group (lib/worker/loops.ts). A worker that only made its group
// again left the queue with no layout: a worker started with `--shards M` (or Admin.createQueue with
// another count) then made it of M shards beside it, and the jobs sent there waited for a worker
// of M while this one read shards nothing was sent to. Recorded again, the count refuses such a
// create (ConfigError), and producers still connected send where this worker reads
// (lib/queue/layout.ts).
import { stampFormat } from "../engine/format.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { openLayout } from "../engine/layout.ts";
import { RedisRefusedError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";

/**
 * Records the queue's count `shards` again if it has none, and the shard's format; throws
 * RedisRefusedError (the worker stops, saying it) when the queue was made again meanwhile with
 * another count, or by a Courier of another format: this worker would read none of its jobs,
 * or misread them.
 */
export async function remakeQueue(
  client: Redis,
  names: { prefix: string; queue: string; shards: number },
  keys: QueueKeys,
): Promise<void> {
  const { prefix, queue, shards } = names;
  const layout = await openLayout(client, prefix, queue, undefined, true, shards);
  if (layout.shards !== shards) {
    throw new RedisRefusedError(
      `queue "${queue}" (prefix ${prefix}) was made again with ${layout.shards} shard${layout.shards === 1 ? "" : "s"}: this worker reads ${shards}; start it again to read the queue's`,
    );
  }
  await stampFormat(client, keys);
}
