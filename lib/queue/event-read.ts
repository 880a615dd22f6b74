// One read of one shard's events stream for `Queue.events()` (lib/queue/events.ts): the entries
// after a reader's position, one event per job an entry names, and a `gap` marker when entries
// the reader had not seen were trimmed away (the stream keeps about `eventsMaxLen` jobs).

import { describeRefusal } from "../cli/refusal.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { RedisRefusedError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import { pairs } from "../redis/reply.ts";
import { nextEntry, ORIGIN, type Position, previousEntry } from "./event-cursor.ts";

/**
 * One event: a job finished, failed, was retried (and, as other parts of Courier write them,
 * canceled, progress). `type` and the entry's other fields pass through as they are, so a type
 * this reader does not know still arrives; `value` (progress) is parsed as JSON when it is.
 */
export interface QueueEvent extends EventFields {
  /** Hand it to `events({ from })` to go on right after this event. */
  cursor: string;
}

/** An event as read, before the iterator gives it its cursor. */
export interface EventFields {
  /** `finished`, `failed`, `retried`, `canceled`, `progress`, … or `gap` (events were lost). */
  type: string;
  /** The job's id (`""` for a gap, or an entry that names no job). */
  id: string;
  /** When the event was written: the entry id's ms, Redis' clock. */
  at: number;
  /** The shard whose events stream it came from (0 on a queue of one shard). */
  shard: number;
  /** A gap's last entry seen before it (`0-0`: none) and the first entry after it. */
  after?: string;
  resumesAt?: string;
  /** Other fields of the entry: a progress `value`, a failure's `error`, … */
  [field: string]: unknown;
}

/** An event as read, and where its shard is once it is seen. */
export interface ReadEvent {
  event: EventFields;
  /** The shard's position once this event is seen. */
  position: Position;
}

type Entry = [string, string[]];

/**
 * The events after `at` (at most `count` entries' worth), and the position after them. The
 * read includes `at`'s own entry: finding it proves nothing after it was trimmed (a trim takes
 * the oldest entries first); when it is gone, a first entry other than the very next id may
 * follow lost ones, and a `gap` event says so before the events kept. From `0-0` (nothing seen)
 * whatever is kept is read with no gap.
 */
export async function readShard(
  client: Redis,
  key: string,
  shard: number,
  at: Position,
  count: number,
): Promise<{ events: ReadEvent[]; next: Position }> {
  const reply = (await client.sendCommand([
    "XRANGE",
    key,
    at.entry,
    "+",
    "COUNT",
    String(count + 1),
  ])) as Entry[] | null;
  let entries = reply ?? [];
  const events: ReadEvent[] = [];
  let next = at;
  const first = entries[0];
  if (first && first[0] === at.entry) {
    entries = entries.slice(1);
    if (at.seen > 0) events.push(...jobEvents(shard, first, at.seen));
    next = { entry: at.entry, seen: 0 };
  } else if (first && at.entry !== "0-0") {
    // Its entry is gone: the rest of a half-seen entry is lost, or entries before `first` may be.
    if (at.seen > 0 || first[0] !== nextEntry(at.entry)) events.push(gap(shard, at, first[0]));
  }
  for (const entry of entries) events.push(...jobEvents(shard, entry, 0));
  const last = entries.at(-1);
  if (last) next = { entry: last[0], seen: 0 };
  return { events, next };
}

/** A gap's event: resuming from it reads on from `first`, with no second gap. */
function gap(shard: number, at: Position, first: string): ReadEvent {
  return {
    event: { type: "gap", id: "", at: entryMs(first), shard, after: at.entry, resumesAt: first },
    position: { entry: previousEntry(first), seen: 0 },
  };
}

/** One event per job the entry names (`ids a,b,…` or `id`), from its `from`-th on. */
function jobEvents(shard: number, [entry, fields]: Entry, from: number): ReadEvent[] {
  let type = "";
  let ids: string[] = [""];
  // No prototype: a field named __proto__ (Redis holds any name) stays a plain field.
  const extra: Record<string, unknown> = Object.create(null);
  for (const [name, value] of pairs(fields)) {
    if (name === "type") type = value;
    else if (name === "ids") ids = value.split(",");
    else if (name === "id") ids = [value];
    else extra[name] = name === "value" ? parseJson(value) : value;
  }
  const at = entryMs(entry);
  return ids.slice(from).map((id, i) => {
    const seen = from + i + 1;
    const position = { entry, seen: seen < ids.length ? seen : 0 };
    return { event: { ...extra, type, id, at, shard }, position };
  });
}

function entryMs(entry: string): number {
  return Number(entry.slice(0, entry.indexOf("-")));
}

/** A progress value as written (JSON), or the text itself when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Throws a refusal for good (WRONGTYPE: another program's key where the events stream belongs,
 * NOPERM) as a RedisRefusedError, one line: no retry would end it.
 */
export function throwIfRefused(err: unknown): void {
  const line = describeRefusal(err);
  if (line !== null) throw new RedisRefusedError(line, { cause: err });
}

/** `err` as a refusal (throwIfRefused), else as it is. */
export function refused(err: unknown): never {
  throwIfRefused(err);
  throw err;
}

/** Each shard's newest event entry (ORIGIN for a stream with none yet). */
export async function lastEntries(client: Redis, keys: readonly QueueKeys[]): Promise<Position[]> {
  const reads = keys.map(
    (k) =>
      client.sendCommand(["XREVRANGE", k.events, "+", "-", "COUNT", "1"]) as Promise<
        [string, string[]][]
      >,
  );
  return (await Promise.all(reads)).map((r) => (r[0] ? { entry: r[0][0], seen: 0 } : ORIGIN));
}
