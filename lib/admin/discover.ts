// Finding the queues under a prefix (`info` without --queue, the dashboard's list), whether one
// exists, and where a queue's shards live (`info`'s placement). A queue of N > 1 shards has its
// keys under N shard tags (`q#s#j`, keys.ts shardTag; `#` is in no queue name, so no queue's
// tag is another's shard's): those are no queues of their own. It is found by its layout key
// `{q}:meta` (field `shards`) together with a key of one of its shards.

import { adminDefaults } from "../config.ts";
import { layoutKey, type QueueKeys, shardTag } from "../engine/keys.ts";
import { inOrderWindow } from "../queue/window.ts";
import type { Redis } from "../redis/connect.ts";
import { keySlot } from "../redis/slot.ts";

/** The keys a queue is found by (as Admin.exists tests them): any one says the queue is there. */
const FOUND_BY = /^.*?:\{(.+)\}:(?:stream|delayed|dead|stats)$/;
const META = /^.*?:\{(.+)\}:meta$/;

/**
 * Whether a queue of these shards exists: its stream, delayed set, dead letters or counters do
 * (the stream and the counters outlive its jobs, so an empty queue exists).
 */
export async function queueExists(client: Redis, shards: readonly QueueKeys[]): Promise<boolean> {
  // A queue whose only jobs are delayed, or dead, has no stream yet (or any more): any of
  // its keys that outlive a job says the queue is there.
  // One EXISTS per shard: a shard's keys share a slot, two shards' keys need not.
  const found = await Promise.all(
    shards.map(({ stream, delayed, dead, stats }) =>
      client.sendCommand(["EXISTS", stream, delayed, dead, stats]),
    ),
  );
  return found.some((n) => Number(n) > 0);
}

/**
 * Queue names under `prefix`: SCAN on every node in `nodes` (each master of a cluster: a SCAN
 * sees one node's keys; one server: `[client]`); `client` reads the layouts found.
 */
export async function findQueues(
  client: Redis,
  prefix: string,
  nodes: readonly Redis[] = [client],
): Promise<string[]> {
  const tags = new Set<string>();
  const metas = new Set<string>();
  // `[sdm]*` narrows the replies to the keys' initials (stream, delayed, dead, stats…, meta).
  const pattern = `${prefix}:{*}:[sdm]*`;
  for (const node of nodes) {
    for await (const key of scan(node, pattern)) {
      const m = FOUND_BY.exec(key) ?? META.exec(key);
      if (m) (key.endsWith(":meta") ? metas : tags).add(m[1]!);
    }
  }
  // A few layouts read at once (adminDefaults.queuesReadAtOnce): one HGET per queue, and all at
  // once 100,000 queues held 100,000 commands and their promises together.
  const count = (q: string) => shardCount(client, prefix, q);
  for await (const o of inOrderWindow(metas, count, adminDefaults.queuesReadAtOnce)) {
    if (!o.ok) throw o.error;
    const [q, n] = [o.batch, o.value];
    if (n <= 1) continue;
    const own = Array.from({ length: n }, (_, s) => shardTag(q, s, n));
    // Found when one of its shards has a key that says so, as a one-shard queue is.
    if (own.some((t) => tags.has(t))) tags.add(q);
    for (const t of own) tags.delete(t);
  }
  return [...tags].sort();
}

async function* scan(node: Redis, pattern: string): AsyncGenerator<string> {
  let cursor = "0";
  do {
    const [next, keys] = await node.sendCommand<[string, string[]]>([
      "SCAN",
      cursor,
      "MATCH",
      pattern,
      "COUNT",
      "1000",
    ]);
    yield* keys;
    cursor = next;
  } while (cursor !== "0");
}

/** A layout's shard count, 1 when it says none or nothing readable (another program's key). */
async function shardCount(client: Redis, prefix: string, queue: string): Promise<number> {
  const raw = await client
    .sendCommand<string | null>(["HGET", layoutKey(prefix, queue), "shards"])
    .catch(() => null); // a key of another type: no layout
  return raw !== null && /^\d{1,5}$/.test(raw) ? Number(raw) : 1;
}

export interface Placement {
  shard: number;
  /** The slot of the shard's keys (its hash tag's). */
  slot: number;
  /** host:port of the node serving that slot. */
  node: string;
}

/**
 * Where each shard lives: its slot, and the node serving the slot (CLUSTER SLOTS on a cluster;
 * on one server, that server: `server`, its host:port).
 */
export async function placement(
  client: Redis,
  shards: readonly QueueKeys[],
  server: string,
): Promise<Placement[]> {
  const ranges = await clusterSlots(client);
  return shards.map((keys) => {
    const slot = keySlot(keys.stream);
    const range = ranges?.find((r) => slot >= r.from && slot <= r.to);
    return { shard: keys.shard, slot, node: ranges === null ? server : (range?.node ?? "?") };
  });
}

interface SlotRange {
  from: number;
  to: number;
  node: string;
}

/**
 * The cluster's slot ranges and their masters; null on a server without cluster mode; [] (every
 * node unknown, `?`) when Redis will not say (a user without `+cluster|slots`).
 */
async function clusterSlots(client: Redis): Promise<SlotRange[] | null> {
  let reply: unknown[][];
  try {
    reply = await client.sendCommand<unknown[][]>(["CLUSTER", "SLOTS"]);
  } catch (err) {
    const message = String((err as Error)?.message);
    if (/cluster support disabled/i.test(message)) return null;
    if (/NOPERM|unknown command/i.test(message)) return [];
    throw err;
  }
  return reply.map((r) => {
    const master = r[2] as unknown[] | undefined;
    const host = String(master?.[0] ?? "?");
    return {
      from: Number(r[0]),
      to: Number(r[1]),
      node: `${host.includes(":") ? `[${host}]` : host}:${String(master?.[1] ?? "?")}`,
    };
  });
}

/** host:port of a Redis URL (never its password); `?` when it names no host. */
export function serverOf(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    return `${url.hostname || "?"}:${url.port || "6379"}`;
  } catch {
    return "?";
  }
}
