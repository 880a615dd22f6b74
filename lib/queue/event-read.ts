// One read of one shard's events stream for `Queue.events()` (lib/queue/events.ts): the entries
// after a reader's position, one event per job an entry names, and a `gap` marker when entries
// the reader had not seen were trimmed away (the stream keeps about `eventsMaxLen` jobs).

import { describeRefusal } from "../cli/refusal.ts";
import { json } from "../engine/ended-record.ts";
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
  maxEvents: number,
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
    next = { entry: at.entry, seen: 0 };
    if (at.seen > 0) {
      const cut = jobEvents(shard, first, at.seen, maxEvents, events);
      if (cut !== null) return { events, next: cut };
    }
  } else if (first && at.entry !== "0-0") {
    // Its entry is gone: the rest of a half-seen entry is lost, or entries before `first` may be.
    if (at.seen > 0 || first[0] !== nextEntry(at.entry)) events.push(gap(shard, at, first[0]));
  }
  for (const entry of entries) {
    // A read gives at most maxEvents: an entry naming more jobs (a batch's `ids`, or a corrupt
    // one of millions) is cut there, the position half-way through it, and read on next time;
    // the entries after it wait for the next read whole.
    if (events.length >= maxEvents) break;
    const cut = jobEvents(shard, entry, 0, maxEvents - events.length, events);
    if (cut !== null) return { events, next: cut };
    next = { entry: entry[0], seen: 0 };
  }
  return { events, next };
}

/** A gap's event: resuming from it reads on from `first`, with no second gap. */
function gap(shard: number, at: Position, first: string): ReadEvent {
  return {
    event: { type: "gap", id: "", at: entryMs(first), shard, after: at.entry, resumesAt: first },
    position: { entry: previousEntry(first), seen: 0 },
  };
}

/**
 * Adds to `out` one event per job the entry names (`ids a,b,…` or `id`), from its `from`-th on,
 * at most `max` (at least one); returns the position to read on from when it stopped short,
 * else null. The ids are walked in place, not split: an entry of a million ids makes no array.
 */
function jobEvents(
  shard: number,
  [entry, fields]: Entry,
  from: number,
  max: number,
  out: ReadEvent[],
): Position | null {
  let type = "";
  // `ids` a comma-separated list; `id` (or no field: "") one id, commas and all.
  let ids = "";
  let one = true;
  // No prototype: a field named __proto__ (Redis holds any name) stays a plain field.
  const extra: Record<string, unknown> = Object.create(null);
  for (const [name, value] of pairs(fields)) {
    if (name === "type") type = value;
    else if (name === "ids" || name === "id") [ids, one] = [value, name === "id"];
    else extra[name] = name === "value" ? json(value) : value; // a progress value, as status reads one
  }
  const at = entryMs(entry);
  /** Where the id after the one ending at `start` begins: -1 past the last. */
  const after = (start: number) => {
    const comma = one ? -1 : ids.indexOf(",", start);
    return comma === -1 ? -1 : comma + 1;
  };
  let start = 0;
  for (let skip = 0; skip < from && start !== -1; skip++) start = after(start);
  for (let seen = from; start !== -1; seen++) {
    if (seen - from >= Math.max(1, max)) return { entry, seen };
    const next = after(start);
    const id = ids.slice(start, next === -1 ? ids.length : next - 1);
    start = next;
    out.push({
      event: { ...extra, type, id, at, shard },
      position: { entry, seen: next === -1 ? 0 : seen + 1 },
    });
  }
  return null;
}

function entryMs(entry: string): number {
  return Number(entry.slice(0, entry.indexOf("-")));
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
