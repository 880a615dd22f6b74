// Parents' outcomes kept for their children (docs/internals.md, "Dependencies and batches"): a
// child holds each parent's outcome from its registration until it ended (it reads them while
// it runs), failed or was canceled waiting; then it is in its shard's `letting-go` set, and the
// drain lets go of it on every parent shard (depend.lua 'letgo': the last child to let go gives
// the outcome its TTL back). A worker that dies part-way leaves the child in the set: letting
// go again changes nothing.
import { type KeptTtls, letGoOf } from "../engine/depend.ts";
import { letGone } from "../engine/ended.ts";
import { type QueueKeys, shardOf } from "../engine/keys.ts";
import { parseOutcome } from "../engine/outcome.ts";
import { wrongTypeAs } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";
import { PARENTS_PAGE, parentPages } from "./orphans.ts";

/** Enough of a failed value to read its head up to its letter (lib/engine/outcome.ts). */
const HEAD_BYTES = 256;

/**
 * The TTLs `child`'s parents get back. A child dead-lettered may be requeued (`dead requeue`)
 * while its failed outcome lasts, and then reads its parents again: they are kept at least as
 * long as it (its parents list has its TTL: ended.lua; failureTtlS while children of its own
 * hold its outcome). With their own TTLs, a callback requeued an hour later read every
 * finished parent as `unknown`.
 */
async function keptFor(client: Redis, k: QueueKeys, child: string, o: KeptTtls) {
  const key = k.resultPrefix + child;
  const [head, ttlMs] = await Promise.all([
    client.sendCommand<string>(["GETRANGE", key, "0", String(HEAD_BYTES - 1)]),
    client.sendCommand<number>(["PTTL", key]),
  ]).catch(wrongTypeAs<[string, number]>(["", -2]));
  const letter = parseOutcome(`${head}\n\n\n`)?.letter;
  if (!letter) return o;
  // No TTL: children of its own hold it (its parents list has its record's, failureTtlS).
  const s = Number(ttlMs) > 0 ? Math.ceil(Number(ttlMs) / 1000) : o.failureTtlS;
  return { resultTtlS: Math.max(o.resultTtlS, s), failureTtlS: Math.max(o.failureTtlS, s) };
}

/**
 * `child` lets go of its parents a page at a time (each page's parents grouped by shard, one
 * depend.lua call per shard: a page is no more than a call takes), so memory stays one page
 * per child whatever the length of its list (a batch callback's parents are the batch's jobs).
 */
async function letGoOne(
  client: Redis,
  all: readonly QueueKeys[],
  k: QueueKeys,
  child: string,
  o: KeptTtls,
  page: number,
): Promise<void> {
  const kept = await keptFor(client, k, child, o);
  for await (const parents of parentPages(client, k, child, page)) {
    const byShard = new Map<number, string[]>();
    for (const p of parents) {
      const s = shardOf(p, all.length);
      if (s < 0) continue;
      const list = byShard.get(s) ?? [];
      list.push(p);
      byShard.set(s, list);
    }
    await Promise.all([...byShard].map(([s, ids]) => letGoOf(client, all[s]!, child, ids, kept)));
  }
}

/**
 * The children `ids` of shard `k` let go of their parents, then leave letting-go. All at once:
 * their calls go out together (node-redis pipelines them on the connection; a cluster client
 * per node), not one child's round trips after another's. `page`: parents read at a time.
 */
export async function letGo(
  client: Redis,
  k: QueueKeys,
  all: readonly QueueKeys[],
  ids: readonly string[],
  o: KeptTtls,
  page = PARENTS_PAGE,
): Promise<void> {
  await Promise.all(ids.map((child) => letGoOne(client, all, k, child, o, page)));
  await letGone(client, k, ids);
}
