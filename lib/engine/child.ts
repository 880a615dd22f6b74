// A job that waits for its parents, written on its shard (docs/internals.md, "Dependencies and
// batches"): the typed owner of child.lua's KEYS/ARGV and reply.
import type { Redis } from "../redis/connect.ts";
import type { EnqueueJob } from "./enqueue.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** What a child does when a parent fails (or is canceled): fail too (default), or run anyway. */
export type OnParentFailure = "fail" | "run";

export interface ChildCreated {
  /** false: a record with this id existed (left as it is). */
  created: boolean;
  /** How many parent ids the child's lists hold (go on from there); null when unknown. */
  listed: number | null;
  /** The existing record's status (`waiting-for-parents` while it still waits). */
  status: string;
}

function keysOf(k: QueueKeys): string[] {
  return [k.children, k.meta, k.stats];
}

function prefixes(k: QueueKeys, id: string): string[] {
  return [k.recordPrefix, k.waitsPrefix, k.parentsPrefix, id];
}

/** Writes the child's record (status waiting-for-parents), unless a record with its id exists. */
export async function createChild(
  client: Redis,
  k: QueueKeys,
  job: EnqueueJob & { id: string },
  onParentFailure: OnParentFailure,
): Promise<ChildCreated> {
  const args = [...prefixes(k, job.id), "create", job.task, job.payload, job.maxAttempts];
  args.push(job.options ?? "", job.level ?? "", onParentFailure);
  const [created, listed, status] = await runScript<[number, string, string]>(
    client,
    scripts.child,
    keysOf(k),
    args,
  );
  const n = /^\d+$/.test(listed) ? Number(listed) : null;
  return { created: Number(created) === 1, listed: n, status: String(status) };
}

/**
 * Lists parent ids (a chunk) for a waiting child, at `offset` (the ids earlier chunks listed):
 * a chunk sent again lists nothing twice. Returns how many the child lists now, or null when it
 * no longer waits.
 */
export async function listParents(
  client: Redis,
  k: QueueKeys,
  child: string,
  offset: number,
  parents: readonly string[],
): Promise<number | null> {
  const args = [...prefixes(k, child), "add", offset, ...parents];
  const [ok, listed] = await runScript<[number, string]>(client, scripts.child, keysOf(k), args);
  return Number(ok) === 1 ? Number(listed) : null;
}
