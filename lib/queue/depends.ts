// Enqueueing a job that waits for others (docs/internals.md, "Dependencies and batches"): its
// parents checked on their shards, the child written on its own (child.lua), then each parent
// shard told of it (depend.lua), and the parents that had already ended told to the child
// (parent-ended.lua). The order makes a parent ending at any moment either seen ended by
// depend.lua or seeing its dependent in its own end (finish, fail, bury, claim, cancel).
import { createChild, listParents, type OnParentFailure } from "../engine/child.ts";
import { dependOn, type ParentMark } from "../engine/depend.ts";
import type { EndedLetter } from "../engine/ended.ts";
import { type QueueKeys, shardOf } from "../engine/keys.ts";
import { type ParentEnded, type TellOptions, tellChildren } from "../engine/parent-ended.ts";
import { isValidJobId } from "../engine/record.ts";
import { InputError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import type { Enqueued, Prepared } from "./prepare.ts";

/** Most parents one job may wait for (a batch's callback waits for every job of the batch). */
export const MAX_PARENTS = 100_000;

/** Parent ids per script call: a call holds Redis while it runs. */
const CHUNK = 1_000;

export interface Dependencies {
  dependsOn?: readonly string[];
  onParentFailure?: OnParentFailure;
}

/** The parent ids, checked and without repeats (first place kept); throws InputError. */
export function checkDependencies(spec: Dependencies): string[] | null {
  if (spec.dependsOn === undefined) {
    if (spec.onParentFailure !== undefined) throw new InputError("onParentFailure needs dependsOn");
    return null;
  }
  if (!Array.isArray(spec.dependsOn)) throw new InputError("dependsOn must be an array of job ids");
  const failure = spec.onParentFailure ?? "fail";
  if (failure !== "fail" && failure !== "run") {
    throw new InputError(`onParentFailure must be "fail" or "run", got ${JSON.stringify(failure)}`);
  }
  const ids = [...new Set(spec.dependsOn)];
  if (ids.length > MAX_PARENTS) {
    throw new InputError(`dependsOn lists ${ids.length} jobs, more than ${MAX_PARENTS}`);
  }
  const bad = ids.find((id) => typeof id !== "string" || !isValidJobId(id));
  if (bad !== undefined) {
    throw new InputError(`dependsOn: ${JSON.stringify(bad).slice(0, 140)} is not a job id`);
  }
  return ids;
}

function byShard(ids: readonly string[], shards: number): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const id of ids) {
    const s = shardOf(id, shards);
    const list = out.get(s) ?? [];
    list.push(id);
    out.set(s, list);
  }
  return out;
}

/** Every parent's mark, per shard in chunks (in parallel over shards). */
async function markParents(
  client: Redis,
  keys: readonly QueueKeys[],
  mode: "check" | "add",
  child: string,
  parents: readonly string[],
): Promise<Map<string, ParentMark>> {
  const marks = new Map<string, ParentMark>();
  const calls = [...byShard(parents, keys.length)].map(async ([s, ids]) => {
    const k = keys[s];
    for (let at = 0; at < ids.length; at += CHUNK) {
      const chunk = ids.slice(at, at + CHUNK);
      const got = k ? await dependOn(client, k, mode, child, chunk) : chunk.map(() => "" as const);
      for (const [i, id] of chunk.entries()) marks.set(id, got[i] ?? "");
    }
  });
  await Promise.all(calls);
  return marks;
}

export interface ChildJob {
  job: Prepared;
  parents: string[];
  onParentFailure: OnParentFailure;
}

/**
 * Enqueues one job that waits for `parents` (ids of this queue): refused (InputError, nothing
 * written) when a parent is unknown. A caller id that exists is left alone (`created: false`),
 * unless it is this child still being registered (a producer sending again): it goes on.
 */
export async function enqueueChild(
  client: Redis,
  keys: readonly QueueKeys[],
  c: ChildJob,
  o: TellOptions,
): Promise<Enqueued> {
  const marks = await markParents(client, keys, "check", "", c.parents);
  const unknown = c.parents.filter((p) => marks.get(p) === "");
  if (unknown.length > 0) {
    const more = unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : "";
    throw new InputError(
      `dependsOn: job ${unknown[0]} is unknown in this queue (never enqueued, or its outcome expired)${more}`,
    );
  }
  const id = c.job.id ?? Bun.randomUUIDv7();
  const k = keys[shardOf(id, keys.length)]!;
  const made = await createChild(client, k, { ...c.job, id }, c.onParentFailure);
  if (!made.created && made.status !== "waiting-for-parents") return { id, created: false };
  let listed = made.listed ?? 0;
  while (listed < c.parents.length) {
    const next = await listParents(client, k, id, listed, c.parents.slice(listed, listed + CHUNK));
    if (next === null) return { id, created: made.created };
    listed = next;
  }
  const added = await markParents(client, keys, "add", id, c.parents);
  const ended: ParentEnded[] = [];
  for (const [parent, mark] of added) {
    // A parent gone since the check ('': its outcome expired) ended: no outcome to read.
    if (mark !== "w") ended.push({ child: id, parent, letter: (mark || "?") as EndedLetter });
  }
  for (let at = 0; at < ended.length; at += CHUNK) {
    await tellChildren(client, k, o, ended.slice(at, at + CHUNK));
  }
  return { id, created: made.created };
}
