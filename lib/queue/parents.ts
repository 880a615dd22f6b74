// A child's parents and how each ended (TaskContext.parents(), docs/internals.md, "Dependencies
// and batches"): the ids from the child's `parents:<child>` list, a page at a time, and their
// outcomes `r:<id>` read on their shards. Memory stays one page whatever the batch's size.

import { json } from "../engine/ended-record.ts";
import { type QueueKeys, shardOf } from "../engine/keys.ts";
import { parseOutcome } from "../engine/outcome.ts";
import type { Redis } from "../redis/connect.ts";
import type { ParentOutcome } from "../types.ts";

/** Parents read per page. */
export const PARENTS_PAGE = 100;

/** One parent's outcome from its `r:<id>` value (null: expired, or not an outcome). */
export function parentOutcome(id: string, value: string | null): ParentOutcome {
  const o = value === null ? null : parseOutcome(value);
  if (o === null) return { id, status: "unknown", result: null, error: null };
  return {
    id,
    status: o.status,
    result: o.status === "finished" ? json(o.text) : null,
    error: o.status === "failed" ? o.text : null,
  };
}

/** One page's outcomes, read with one MGET per shard (a shard's keys share one slot). */
async function readPage(
  client: Redis,
  keys: readonly QueueKeys[],
  ids: readonly string[],
): Promise<ParentOutcome[]> {
  const values = new Map<string, string | null>();
  const groups = new Map<number, string[]>();
  for (const id of ids) {
    const s = shardOf(id, keys.length);
    groups.set(s, [...(groups.get(s) ?? []), id]);
  }
  await Promise.all(
    [...groups].map(async ([s, group]) => {
      const k = keys[s];
      if (!k) return;
      const got = await client.sendCommand<(string | null)[]>(["MGET", ...group.map(k.result)]);
      for (const [i, id] of group.entries()) values.set(id, got[i] ?? null);
    }),
  );
  return ids.map((id) => parentOutcome(id, values.get(id) ?? null));
}

/** The parents of `child` in the order they were given, with how each ended, paged. */
export async function* readParents(
  client: Redis,
  keys: readonly QueueKeys[],
  child: string,
  page = PARENTS_PAGE,
): AsyncGenerator<ParentOutcome> {
  const k = keys[shardOf(child, keys.length)];
  if (!k) return;
  const list = `${k.parentsPrefix}${child}`;
  for (let at = 0; ; at += page) {
    const ids = await client.sendCommand<string[]>([
      "LRANGE",
      list,
      String(at),
      String(at + page - 1),
    ]);
    if (ids.length === 0) return;
    yield* await readPage(client, keys, ids.map(String));
    if (ids.length < page) return;
  }
}
