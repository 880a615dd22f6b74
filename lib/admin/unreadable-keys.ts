// Which of a queue's keys holds another type than Courier writes, for a read that Redis
// refused with WRONGTYPE (a hand edit, another program's key under the prefix): the dashboard
// and /metrics then show that part as unreadable, naming the key, and serve the rest, as `info`
// shows such a queue and `result` such a job. Asked only after a refusal: a TYPE per key, all
// sent at once.
import { LEVELS, levelKeys, type QueueKeys } from "../engine/keys.ts";
import { cannotBeRead } from "../engine/unreadable-text.ts";
import { describeError } from "../errors.ts";
import type { QueueShards } from "./queue-shards.ts";

/** A part of a read that could not be read: why, in one line. */
export type Unreadable = { unreadable: string };

/** The keys a queue's reads touch, and the type Courier keeps in each. */
const TYPES: [(k: QueueKeys) => string, string][] = [
  [(k) => k.stream, "stream"],
  [(k) => k.delayed, "zset"],
  [(k) => k.tasks, "hash"],
  [(k) => k.dead, "stream"],
  [(k) => k.events, "stream"],
  [(k) => k.workers, "zset"],
  [(k) => k.stats, "hash"],
  [(k) => k.minutes, "hash"],
  [(k) => k.durations, "hash"],
  [(k) => k.canceled, "stream"],
];

/** The first of the queue's keys of another type, in `cannotBeRead`'s words. */
export async function unreadableLine(s: QueueShards): Promise<string> {
  const wanted = new Map<string, string>();
  for (const shard of await s.shards()) {
    for (const keys of LEVELS.map((l) => levelKeys(shard, l))) {
      for (const [key, want] of TYPES) wanted.set(key(keys), want);
    }
  }
  // Sent at once (a few dozen TYPEs a shard, pipelined), judged in order: the first named.
  const keys = [...wanted];
  const types = await Promise.all(keys.map(([key]) => s.client.sendCommand<string>(["TYPE", key])));
  for (const [i, [key, want]] of keys.entries()) {
    const type = types[i]!;
    if (type !== "none" && type !== want)
      return `queue ${s.queue} ${cannotBeRead(key, type, want)}`;
  }
  // Gone or fixed since the refusal: said without a name.
  return `queue ${s.queue}: a key held another type than Courier writes; read again`;
}

export function isUnreadable(v: unknown): v is Unreadable {
  return typeof v === "object" && v !== null && Object.keys(v).join() === "unreadable";
}

/** `read`'s value, or, when Redis refused one of its keys' types, why (any other error thrown). */
export function settle<T>(s: QueueShards, read: Promise<T>): Promise<T | Unreadable> {
  return read.catch(async (err: unknown) => {
    if (!/\bWRONGTYPE\b/.test(describeError(err))) throw err;
    return { unreadable: await unreadableLine(s) };
  });
}
