// A queue's layout: how many shards it has (field `shards` of `{queue}:meta`, layoutKey), and
// their keys. Written once, by the first producer or worker of a queue, and fixed afterwards:
// a job's shard follows from its id and N (keys.ts, shardOf), so changing N would lose jobs.
import { ErrorReply } from "@redis/client";
import { ConfigError, RedisRefusedError } from "../errors.ts";
import { isWrongType } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { layoutKey, MAX_SHARDS, type QueueKeys, shardKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";
import { cannotBeRead } from "./unreadable-text.ts";

export interface Layout {
  /** Shards of the queue (1: today's one-tag layout). */
  shards: number;
  /** Each shard's keys, shard s at index s. */
  keys: QueueKeys[];
}

/**
 * The queue's shard count as recorded: its `shards` field; 1 for a queue that has a meta (a
 * format) but no such field (made before shards existed, or with one shard); null for a queue
 * that has no meta yet (nothing was written there).
 */
export async function readShards(
  client: Redis,
  prefix: string,
  queue: string,
): Promise<number | null> {
  const key = layoutKey(prefix, queue);
  const reply = await client
    .sendCommand<(string | null)[]>(["HMGET", key, "shards", "format"])
    .catch(async (err: unknown) => {
      if (!isWrongType(err)) throw err;
      // Another program's key: refused naming it (a raw WRONGTYPE named none, and the
      // dashboard answered it with a 500), as a count that cannot be read is.
      const type = await client.sendCommand<string>(["TYPE", key]);
      const why = `queue "${queue}" (prefix ${prefix}) ${cannotBeRead(key, type, "hash")}`;
      throw new RedisRefusedError(why, { cause: err });
    });
  return parseShards(reply, prefix, queue);
}

/** The count from `[shards, format]` of the layout key (readShards; layout.lua answers the same). */
function parseShards(
  [shards, format]: (string | null)[],
  prefix: string,
  queue: string,
): number | null {
  if (shards === null || shards === undefined)
    return format === null || format === undefined ? null : 1;
  const n = /^\d{1,5}$/.test(shards) ? Number(shards) : Number.NaN;
  const key = layoutKey(prefix, queue);
  // Refusals of data in Redis (exit 6, as another data format is), not of an option: `info`
  // shows the queue unreadable and the others all the same.
  if (!(n >= 1 && n <= MAX_SHARDS)) {
    throw new RedisRefusedError(
      `queue "${queue}" (prefix ${prefix}) has an unreadable shard count ${JSON.stringify(shards.slice(0, 20))} in ${key}`,
    );
  }
  // A format here is a one-shard queue's (its meta is this key; a sharded queue's formats are
  // in its shards' metas): a count beside it is a hand edit, and read as N shards under other
  // tags the queue's jobs, in the one-shard keys, would be seen by nothing.
  if (n > 1 && format !== null && format !== undefined) {
    throw new RedisRefusedError(
      `queue "${queue}" (prefix ${prefix}) has a shard count ${n} beside a one-shard queue's data format in ${key}: its jobs are in the one-shard keys (delete the field shards, or use another --queue)`,
    );
  }
  return n;
}

/**
 * The queue's layout. `wanted` (an option, `--shards`) must match a queue that exists; a new
 * queue gets it (1 when not given), recorded now when `write` (a worker at start, a producer
 * before its first enqueue; readers write nothing). Two processes creating the queue at once:
 * the first record (or a one-shard queue's first jobs) wins, and the other is refused if it
 * wanted another N; a producer that missed it is refused by its first batch (enqueue.lua).
 */
export async function openLayout(
  client: Redis,
  prefix: string,
  queue: string,
  wanted: number | undefined,
  write: boolean,
  /** The count a queue with none is recorded with (a producer whose queue was emptied: its own). */
  fresh = wanted ?? 1,
): Promise<Layout> {
  let shards = await readShards(client, prefix, queue);
  if (shards === null && write) {
    // In one script: a one-shard queue whose first jobs (and format) landed since the read
    // above keeps its one shard (layout.lua).
    const key = layoutKey(prefix, queue);
    const reply = await runScript<(string | null)[]>(client, scripts.layout, [key], [fresh]);
    shards = parseShards(reply, prefix, queue);
  }
  const n = shards ?? wanted ?? 1;
  if (wanted !== undefined && wanted !== n) {
    throw new ConfigError(
      `queue "${queue}" (prefix ${prefix}) has ${n} shard${n === 1 ? "" : "s"}, not ${wanted}: the count is fixed when a queue is created (leave out --shards, or use another --queue)`,
    );
  }
  return { shards: n, keys: shardKeys(prefix, queue, n) };
}

/**
 * Nothing written, and the layout read again found replaced (another count): sent by the new
 * one as after a layout refusal. A child whose parent its stale layout did not find
 * (lib/queue/depends.ts): the parent may be in its shard of the new layout.
 */
export class LayoutReplaced extends Error {}

/**
 * enqueue.lua's refusal of a batch (nothing written) to a shard the producer's layout may no
 * longer hold: a shard with no meta it was not allowed to make, a shard whose meta says
 * another count (a tag two layouts share), or a one-shard queue made again with several. The producer reads the queue's layout again (lib/queue/layout.ts).
 */
export function isLayoutRefusal(err: unknown): boolean {
  if (err instanceof LayoutReplaced) return true;
  return (
    err instanceof ErrorReply &&
    /^courier: (shard \S+ (has no meta|is one of)|queue \S+ was made with [\s\S]* shards by another)/.test(
      err.message,
    )
  );
}

/**
 * A layout refusal (isLayoutRefusal) met again once the layout was read again and said the
 * part's shard is the queue's: a shard's meta given a count by hand (only a one-shard queue's
 * meta, the layout key, has one). Said in one line; else `err`.
 */
export function unreadableLayout(err: unknown): unknown {
  if (!isLayoutRefusal(err)) return err;
  const m = /^courier: queue (\S+) was made with ([\s\S]*) shards by another process/.exec(
    (err as Error).message,
  );
  if (!m) return err;
  return new RedisRefusedError(
    `${m[1]} holds a shard count ${JSON.stringify(m[2])}, which a shard's meta never has (a hand edit: delete its field shards)`,
  );
}

/** A producer's layout, for a part sent by it (lib/queue/layout.ts, ProducerLayout.hooks). */
export interface LayoutHooks {
  /** Whether the part may make a shard with no meta. */
  mayCreate: () => boolean;
  /** After a layout refusal: the layout read again; whether the part's count still holds. */
  reread: () => Promise<boolean>;
}

/**
 * `send(create)`, `create` as `hooks` allow (absent: true, a caller that has just read the
 * layout). Refused for its layout (nothing written): sent again making its shard when the
 * layout read again holds, else the refusal is thrown (ProducerLayout.sending sends the jobs by
 * the new layout); refused again after a read that holds: unreadableLayout's line.
 */
export function sendByLayout<T>(
  hooks: LayoutHooks | undefined,
  send: (create: boolean) => Promise<T>,
): Promise<T> {
  return send(hooks?.mayCreate() ?? true).catch(async (err: unknown) => {
    if (!hooks || !isLayoutRefusal(err) || !(await hooks.reread())) throw err;
    return send(true).catch((again: unknown) => {
      throw unreadableLayout(again);
    });
  });
}
