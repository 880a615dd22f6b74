// A listed job's row, and how a state's reader places it for the merge over shards (jobs.ts):
// its position in its shard (where the next page goes on) and a sort key (when). With the few
// parsers every reader shares: an entry's fields, an entry id as a sort key, a count.

import type { QueueKeys } from "../../engine/keys.ts";
import { readStreamPage } from "../../engine/stream-page.ts";
import type { Redis } from "../../redis/connect.ts";

export interface JobRow {
  id: string;
  task: string;
  /** Waiting, running: enqueued; delayed: due; finished, failed, canceled: ended; dead: died (ms). */
  at: number | null;
  /** The attempt it runs (running), will run (waiting, delayed) or ran last; null: unknown. */
  attempt: number | null;
  /** Running: the worker (consumer) that has it. */
  worker?: string;
}

export interface Placed {
  row: JobRow;
  /** Where this shard goes on after this row. */
  pos: string;
  /** The merge key: when, as [ms, seq] (entry ids) or [due ms, 0]. */
  key: [bigint, bigint];
}

/** Reads up to `count` rows of one shard after `pos` (null: from the start). */
export type StateReader = (
  client: Redis,
  keys: QueueKeys,
  pos: string | null,
  count: number,
  oldest: boolean,
) => Promise<Placed[]>;

/**
 * The longest value a row's read keeps, in bytes: more than any id (128) or task name (100
 * characters) Courier writes, so only a corrupt field is cut (a row shows it cut).
 */
export const ROW_VALUE_BYTES = 1_024;

/**
 * Up to `count` entries of a stream from `from` to `to` (XRANGE's bounds, or XREVRANGE's when
 * `reverse`), only the `fields` a row shows, each cut to ROW_VALUE_BYTES: an entry's payload is
 * never read into the process (stream-page.lua).
 */
export async function rowEntries(
  client: Redis,
  stream: string,
  range: { reverse: boolean; from: string; to: string; count: number },
  fields: readonly string[],
): Promise<Entry[]> {
  const q = { ...range, valueBytes: ROW_VALUE_BYTES, fields };
  return (await readStreamPage(client, stream, q)).entries;
}

/** A stream entry as XRANGE returns it (fields null: deleted since). */
export type Entry = [string, string[] | null];

/** An entry's flat field list as a map (null: an entry deleted since: no fields). */
export function fieldsOf(flat: readonly string[] | null): Map<string, string> {
  const f = new Map<string, string>();
  for (let i = 0; flat && i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
  return f;
}

/** An entry id as the merge key [ms, seq]. */
export function entryKey(id: string): [bigint, bigint] {
  const [ms, seq] = id.split("-");
  return [BigInt(ms ?? 0), BigInt(seq ?? 0)];
}

/** A count as we write it (up to 15 digits); anything else (absent, corrupt) null. */
export function num(v: string | undefined): number | null {
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : null;
}
