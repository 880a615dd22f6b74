// Dead letters of a queue of N shards, page by page, newest first across shards. Letters are
// ordered by their entry id (when they died, on their shard's clock), then by shard (higher
// first) for two letters with one entry id; a page's `next` names its last letter as
// `<entry id>:<shard>`, so the next page starts right after it in every shard. A one-shard
// queue keeps its cursor as it was: the entry id alone (letters.ts, listDead).

import { type QueueKeys, U64_MAX } from "../engine/keys.ts";
import { compareStreamIds } from "../queue/recent.ts";
import type { Redis } from "../redis/connect.ts";
import { DEAD_PAGE_BYTES, type DeadPage, deadFrom, listDead } from "./letters.ts";

/** `<ms>-<seq>` (a one-shard cursor), or `<ms>-<seq>:<shard>` (a sharded one). */
const CURSOR = /^((\d{1,20})-(\d{1,20}))(?::(\d{1,5}))?$/;

/**
 * Whether `s` is a cursor Redis takes (both numbers u64, not 0-0): the dashboard and the CLI
 * refuse others before Redis (a user's mistake, not a server error).
 */
export function isDeadCursor(s: string): boolean {
  const m = CURSOR.exec(s);
  if (!m) return false;
  const [ms, seq] = [BigInt(m[2]!), BigInt(m[3]!)];
  return ms <= U64_MAX && seq <= U64_MAX && ms + seq > 0n;
}

export async function listDeadShards(
  client: Redis,
  shards: readonly QueueKeys[],
  cursor: string | null,
  limit: number,
): Promise<DeadPage> {
  const m = cursor !== null && isDeadCursor(cursor) ? CURSOR.exec(cursor) : null;
  // An N-shard cursor given to a one-shard queue: its entry id still says where to go on.
  if (shards.length === 1) return listDead(client, shards[0]!, m?.[1] ?? null, limit);
  // No shard in the cursor (an entry id alone): every shard goes on after that entry.
  const after = m ? { entry: m[1]!, shard: m[4] === undefined ? -1 : Number(m[4]) } : null;
  const [totals, pages] = await Promise.all([
    Promise.all(shards.map((k) => client.sendCommand<number>(["XLEN", k.dead]))),
    Promise.all(
      shards.map((keys, s) => {
        // A shard ordered after the last letter shown (a lower one) still owes its letter
        // of that same entry id: its start is inclusive.
        const from = after === null ? "+" : s < after.shard ? after.entry : `(${after.entry}`;
        // The page's bytes shared out: every shard's read is bounded (DEAD_PAGE_BYTES).
        return deadFrom(client, keys, from, limit + 1, DEAD_PAGE_BYTES / shards.length);
      }),
    ),
  ]);
  const newestFirst = (
    a: { letter: { entryId: string }; s: number },
    b: { letter: { entryId: string }; s: number },
  ) => compareStreamIds(b.letter.entryId, a.letter.entryId) || b.s - a.s;
  const merged = pages
    .flatMap((page, s) => page.letters.map((letter) => ({ letter, s })))
    .sort(newestFirst);
  // A shard cut by bytes may hold letters older than its last one read but newer than other
  // shards' letters: the page stops at the newest of the cut shards' last letters.
  const frontiers = pages.flatMap((page, s) =>
    page.cut && page.letters.length > 0 ? [{ letter: page.letters.at(-1)!, s }] : [],
  );
  const frontier = frontiers.sort(newestFirst)[0];
  const before = frontier ? merged.filter((x) => newestFirst(x, frontier) <= 0) : merged;
  const shown = before.slice(0, limit);
  const last = shown.at(-1);
  const more = merged.length > shown.length || frontier !== undefined;
  return {
    total: totals.reduce((n, t) => n + Number(t), 0),
    letters: shown.map((x) => x.letter),
    next: more && last ? `${last.letter.entryId}:${last.s}` : null,
  };
}
