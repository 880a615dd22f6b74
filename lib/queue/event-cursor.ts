// The cursor of `Queue.events()`: where a reader of the queue's events is, per shard, as one
// string it can keep and hand back (`events({ from: cursor })`) to go on exactly after the last
// event it saw. Format (docs/internals.md, "Events for services"):
//
//     v1:<queue tag>:<shard 0>,<shard 1>,…
//
// `<queue tag>` is 8 hex digits of a CRC-32 of the prefix and the queue name (a cursor of
// another queue is refused); one position per shard (a cursor of another shard count is
// refused). A position is `<ms>-<seq>`: every job of that events entry and of those before it
// seen; `<ms>-<seq>+<k>`: the first k jobs of that entry seen (an entry names a whole finish
// batch: a reader may stop in the middle of one); `0-0`: nothing seen, read from the oldest
// entry kept (a stream that did not exist yet, or `from: "start"`).

import { InputError } from "../errors.ts";
import { shownInput as show } from "../safe-text.ts";

/** Where a reader is on one shard's events stream. */
export interface Position {
  /** The last entry seen (wholly, or its first `seen` jobs); `0-0`: none. */
  entry: string;
  /** Jobs of `entry` seen; 0 = all of them. */
  seen: number;
}

export const ORIGIN: Position = { entry: "0-0", seen: 0 };

const VERSION = "v1";
const MAX = (1n << 64n) - 1n;
/** The last id a stream may hold. */
const LAST = `${MAX}-${MAX}`;
const ENTRY = /^(\d{1,20})-(\d{1,20})$/;
const POSITION = /^(\d{1,20}-\d{1,20})(?:\+([1-9]\d{0,8}))?$/;

/** The tag of a queue in its cursors: a cursor names its queue without spelling it out. */
export function queueTag(prefix: string, queue: string): string {
  return Bun.hash.crc32(`${prefix}\n${queue}`).toString(16).padStart(8, "0");
}

export function encodeCursor(tag: string, positions: readonly Position[]): string {
  const parts = positions.map((p) => (p.seen > 0 ? `${p.entry}+${p.seen}` : p.entry));
  return `${VERSION}:${tag}:${parts.join(",")}`;
}

/**
 * The positions of a cursor given back by a caller. Throws InputError (one line) for a string
 * that is no cursor, a cursor of another queue, or one of another shard count.
 */
export function parseCursor(cursor: string, tag: string, shards: number): Position[] {
  const bad = (why: string) => new InputError(`events cursor "${show(cursor)}" ${why}`);
  const [version, theirs, list, ...rest] = cursor.split(":");
  if (version !== VERSION || theirs === undefined || list === undefined || rest.length > 0)
    throw bad(`is not a cursor of Queue.events() (expected ${VERSION}:<tag>:<positions>)`);
  if (theirs !== tag) throw bad("belongs to another queue or prefix");
  const parts = list.split(",");
  if (parts.length !== shards) throw bad(`has ${parts.length} shard(s); this queue has ${shards}`);
  return parts.map((part) => {
    const m = POSITION.exec(part);
    if (!m || entryBig(m[1]!) === null) throw bad(`has a malformed position "${show(part)}"`);
    // Reading goes on after the entry: the last id a stream may hold has nothing after it (the
    // read would wait forever), and no events entry has it (they get Redis' own ids).
    if (m[1] === LAST) throw bad(`has a position "${show(part)}" with no entry after it`);
    return { entry: m[1]!, seen: m[2] ? Number(m[2]) : 0 };
  });
}

/** An entry id as [ms, seq], or null when it is none (out of range, malformed). */
function entryBig(id: string): [bigint, bigint] | null {
  const m = ENTRY.exec(id);
  if (!m) return null;
  const ms = BigInt(m[1]!);
  const seq = BigInt(m[2]!);
  return ms <= MAX && seq <= MAX ? [ms, seq] : null;
}

/** The id right after `id` as Redis counts (seq 2^64 − 1 rolls over to the next ms). */
export function nextEntry(id: string): string {
  const [ms, seq] = entryBig(id) ?? [0n, 0n];
  return seq < MAX ? `${ms}-${seq + 1n}` : `${ms + 1n}-0`;
}

/** The id right before `id` (`0-0` has none: itself). */
export function previousEntry(id: string): string {
  const [ms, seq] = entryBig(id) ?? [0n, 0n];
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-${MAX}` : "0-0";
}
