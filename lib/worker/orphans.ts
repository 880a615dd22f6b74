// Children whose producer stopped part-way (docs/internals.md, "Dependencies and batches"): a
// child stays in its shard's `registering` set from its record's creation until the producer's
// last step, scored with the time of its latest step. One left there silent longer than the
// grace (a producer killed, a reply lost and never sent again) is finished by a worker: when
// its parents list is complete, the producer's steps are done again (each safe to repeat,
// lib/queue/depends.ts); when it is not, nothing says which parents are missing, and the child
// fails with that reason (parent-ended.lua, `R`).
import { markRegistered, staleChildren } from "../engine/child.ts";
import type { QueueKeys } from "../engine/keys.ts";
import { type TellOptions, tellChildren } from "../engine/parent-ended.ts";
import { addToParents } from "../queue/depends.ts";
import { wrongTypeAs } from "../redis/cause.ts";
import type { Redis } from "../redis/connect.ts";

/**
 * How long a child's producer may be silent (no step since its last: every chunk it sends
 * moves the child's `registering` score) before a worker finishes its steps: far past the
 * time one step takes, so a worker never races a live producer, however long it takes overall.
 */
export const REGISTER_GRACE_MS = 60_000;

/** Children looked at per sweep. */
const MOST = 20;

/**
 * Parent ids read per LRANGE: what a caller holds of one child's parents at a time (a batch
 * callback's parents are every job of the batch, 100,000 at most), and no more than one
 * depend.lua call takes.
 */
export const PARENTS_PAGE = 1_000;

/**
 * A child's parents list, a page at a time (`size` ids; tests make it small). A list key of
 * another type (corrupt: not one Courier wrote) names no parents: read as empty, so the one
 * child is settled on its own and never stalls the drain or the sweep it is read by (each
 * reads the oldest children first).
 */
export async function* parentPages(
  client: Redis,
  k: QueueKeys,
  id: string,
  size = PARENTS_PAGE,
): AsyncGenerator<string[]> {
  for (let at = 0; ; at += size) {
    const page = await client
      .sendCommand<string[]>(["LRANGE", k.parentsPrefix + id, String(at), String(at + size - 1)])
      .catch(wrongTypeAs<string[]>([]));
    if (page.length > 0) yield page.map(String);
    if (page.length < size) return;
  }
}

/**
 * One sweep of shard `k`'s stale children; returns how many were looked at. `page`: parents
 * read (and sent) at a time.
 */
export async function sweepOrphans(
  client: Redis,
  k: QueueKeys,
  all: readonly QueueKeys[],
  o: TellOptions,
  graceMs = REGISTER_GRACE_MS,
  page = PARENTS_PAGE,
): Promise<number> {
  const stale = await staleChildren(client, k, graceMs, MOST);
  for (const c of stale) {
    if (c.status !== "waiting-for-parents") {
      await markRegistered(client, k, c.id);
    } else if (c.parents !== null && c.listed >= c.parents) {
      // Listed in full: the producer's last steps again (registerChild's, after its lists),
      // a page of parents at a time, so memory stays one page whatever the list's length.
      for await (const ids of parentPages(client, k, c.id, page)) {
        await addToParents(client, all, c.id, ids, o);
      }
      await markRegistered(client, k, c.id);
    } else {
      await tellChildren(client, k, o, [{ child: c.id, parent: "", letter: "R" }]);
      await markRegistered(client, k, c.id);
    }
  }
  return stale.length;
}
