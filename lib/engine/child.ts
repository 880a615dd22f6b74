// A job that waits for its parents, written on its shard (docs/internals.md, "Dependencies and
// batches"): the typed owner of child.lua's KEYS/ARGV and reply.
import type { Redis } from "../redis/connect.ts";
import type { EnqueueJob } from "./enqueue.ts";
import { DATA_FORMAT, type QueueKeys } from "./keys.ts";
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
  /** The hash of the parents list the record was created with ('' when it has none). */
  parentsHash: string;
}

/** A child the producer left before its last step (child.lua 'stale'). */
export interface StaleChild {
  id: string;
  status: string;
  listed: number;
  /** How many parents it was created with; null when the record does not say. */
  parents: number | null;
}

function keysOf(k: QueueKeys): string[] {
  return [k.children, k.meta, k.stats, k.registering];
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
  parents: { count: number; hash: string },
  /** Whether a shard with no meta may be made (enqueueBatch's `create`: a producer's layout). */
  create = true,
): Promise<ChildCreated> {
  const args = [...prefixes(k, job.id), "create", job.task, job.payload, job.maxAttempts];
  args.push(job.options ?? "", job.level ?? "", onParentFailure, parents.count, parents.hash);
  // The layout as enqueue.lua is given it: a shard of another layout refuses the child.
  const of = k.shards > 1 ? `/${k.shards}` : "";
  args.push(job.limitKey ?? "", `${DATA_FORMAT}${create ? "" : "?"}${of}`);
  const [created, listed, status, hash] = await runScript<[number, string, string, string]>(
    client,
    scripts.child,
    keysOf(k),
    args,
  );
  const n = /^\d+$/.test(listed) ? Number(listed) : null;
  const parentsHash = String(hash ?? "");
  return { created: Number(created) === 1, listed: n, status: String(status), parentsHash };
}

/** The child's registration is complete: it leaves `registering`. */
export async function markRegistered(client: Redis, k: QueueKeys, child: string): Promise<void> {
  await runScript(client, scripts.child, keysOf(k), [...prefixes(k, child), "registered"]);
}

/** A look at a child being registered: its record's status ('' when none), at Redis' `at` ms. */
export interface ChildLook {
  status: string;
  at: number;
}

/**
 * The producer is still at work on `child`: its `registering` score moves to now (the sweep
 * waits for a whole grace of silence). Returns the record's status and Redis' time.
 */
export async function touchChild(client: Redis, k: QueueKeys, child: string): Promise<ChildLook> {
  const args = [...prefixes(k, child), "touch"];
  const [status, at] = await runScript<[string, string]>(client, scripts.child, keysOf(k), args);
  return { status: String(status), at: Number(at) };
}

/** Children in `registering` for longer than `ageMs` (by Redis' clock), at most `most`. */
export async function staleChildren(
  client: Redis,
  k: QueueKeys,
  ageMs: number,
  most: number,
): Promise<StaleChild[]> {
  const args = [...prefixes(k, ""), "stale", ageMs, most];
  const reply = await runScript<[string, string, string, string][]>(
    client,
    scripts.child,
    keysOf(k),
    args,
  );
  return reply.map(([id, status, listed, n]) => ({
    id: String(id),
    status: String(status),
    listed: Number(listed) || 0,
    parents: /^\d+$/.test(String(n)) ? Number(n) : null,
  }));
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
