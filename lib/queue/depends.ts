// Enqueueing a job that waits for others (docs/internals.md, "Dependencies and batches"): its
// parents checked on their shards, the child written on its own (child.lua), then each parent
// shard told of it (depend.lua), and the parents that had already finished told to the child
// (parent-ended.lua; the workers' drain tells it of every ended parent too). The order makes a parent ending at any moment either seen ended by
// depend.lua or seeing its dependent in its own end (finish, fail, bury, claim, cancel).
import {
  type ChildLook,
  createChild,
  listParents,
  markRegistered,
  type OnParentFailure,
  touchChild,
} from "../engine/child.ts";
import { dependOn, LOOK_MOST_MS, type ParentMark } from "../engine/depend.ts";
import { type QueueKeys, shardOf } from "../engine/keys.ts";
import { type LayoutHooks, LayoutReplaced, sendByLayout } from "../engine/layout.ts";
import { type ParentEnded, type TellOptions, tellChildren } from "../engine/parent-ended.ts";
import { isValidJobId } from "../engine/record.ts";
import { ConnectError, InputError } from "../errors.ts";
import type { Redis } from "../redis/connect.ts";
import type { Enqueued, Prepared } from "./prepare.ts";

/** Most parents one job may wait for (a batch's callback waits for every job of the batch). */
export const MAX_PARENTS = 100_000;

/** A chunk's depend.lua 'add' answered late this many times in a row: the producer stops. */
const LATE_TRIES = 3;

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

/** Said when the child stopped waiting part-way through its producer's steps. */
function takenOver(id: string, status: string): InputError {
  return new InputError(
    `job ${id} is no longer waiting for its parents (${status || "removed"}) part-way through its enqueue: a worker took it over after this producer was silent past the registration grace`,
  );
}

/**
 * One chunk's marks. With `touch`, the child is looked at first (it must still wait), and the
 * look's time goes with the 'add': one landing too late after it (the producer stalled in
 * between) writes nothing and is sent again after a new look.
 */
async function markChunk(
  client: Redis,
  k: QueueKeys,
  mode: "check" | "add",
  child: string,
  chunk: readonly string[],
  touch?: () => Promise<ChildLook>,
): Promise<ParentMark[]> {
  for (let tries = 1; ; tries++) {
    const look = touch ? await touch() : null;
    if (look && look.status !== "waiting-for-parents") throw takenOver(child, look.status);
    const got = await dependOn(client, k, mode, child, chunk, look?.at);
    if (got !== "late") return got;
    // Late every time: Redis servers whose clocks are far apart, or calls that crawl; either
    // way, no end to waiting on (the child is left to the orphan sweep, as a stopped producer's).
    if (tries === LATE_TRIES) {
      throw new ConnectError(
        `job ${child}: its parents' shard answered ${LATE_TRIES} times ${LOOK_MOST_MS / 1000} s or more after a look at the child (Redis servers' clocks apart, or calls that slow): its enqueue stopped part-way`,
      );
    }
  }
}

/**
 * Every parent's mark, per shard in chunks (in parallel over shards). With `touch` (mode
 * 'add'), each chunk is preceded by a look at the child on its shard, which also tells the
 * orphan sweep the producer is alive; a child no longer waiting stops it (InputError).
 */
async function markParents(
  client: Redis,
  keys: readonly QueueKeys[],
  mode: "check" | "add",
  child: string,
  parents: readonly string[],
  touch?: () => Promise<ChildLook>,
): Promise<Map<string, ParentMark>> {
  const marks = new Map<string, ParentMark>();
  const calls = [...byShard(parents, keys.length)].map(async ([s, ids]) => {
    const k = keys[s];
    for (let at = 0; at < ids.length; at += CHUNK) {
      const chunk = ids.slice(at, at + CHUNK);
      const got = k ? await markChunk(client, k, mode, child, chunk, touch) : [];
      for (const [i, id] of chunk.entries()) marks.set(id, got[i] ?? "");
    }
  });
  await Promise.all(calls);
  return marks;
}

/**
 * Refuses (InputError, nothing written) parents unknown in this queue: never enqueued, or their
 * outcome expired. A read only: a bulk enqueue checks every child's parents before it sends
 * anything (lib/queue/batch.ts), and each child again as it is sent.
 */
export async function checkParentsKnown(
  client: Redis,
  keys: readonly QueueKeys[],
  parents: readonly string[],
): Promise<void> {
  const marks = await markParents(client, keys, "check", "", parents);
  const unknown = parents.filter((p) => marks.get(p) === "");
  if (unknown.length > 0) {
    const more = unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : "";
    throw new InputError(
      `dependsOn: job ${unknown[0]} is unknown in this queue (never enqueued, or its outcome expired)${more}`,
    );
  }
}

export interface ChildJob {
  job: Prepared;
  parents: string[];
  onParentFailure: OnParentFailure;
  /** Parents Redis acknowledged (a batch's jobs): unchecked, one expired reads ended (`?`). */
  acknowledged?: ReadonlySet<string>;
}

/** The hash of a child's parents list, kept in its record: a send again is told apart. */
export function parentsHash(parents: readonly string[]): string {
  return new Bun.CryptoHasher("sha256").update(parents.join("\n")).digest("hex");
}

/**
 * The child's steps after its record: its lists from `listed` on, every parent shard told of
 * it (depend.lua 'add'; an ended parent goes into ended-parents, for the workers' drain), the
 * parents answered ended told to it at once, and the child out of `registering`. Each step is
 * safe to repeat (a producer sending again, or a worker finishing a stopped producer's steps).
 * Every step tells the orphan sweep the producer is alive; a child that stopped waiting
 * part-way (the sweep failed it after a silence past its grace) throws an InputError.
 */
export async function registerChild(
  client: Redis,
  keys: readonly QueueKeys[],
  id: string,
  parents: readonly string[],
  listedBefore: number,
  o: TellOptions,
): Promise<void> {
  const k = keys[shardOf(id, keys.length)]!;
  let listed = listedBefore;
  while (listed < parents.length) {
    const next = await listParents(client, k, id, listed, parents.slice(listed, listed + CHUNK));
    if (next === null) throw takenOver(id, (await touchChild(client, k, id)).status);
    listed = next;
  }
  await addToParents(client, keys, id, parents, o);
  await markRegistered(client, k, id);
}

/**
 * Every shard of `parents` told of the child (depend.lua 'add'), and the child told of those
 * that finished already. Safe to repeat, and to send any slices of the child's parents in turn
 * (the orphan sweep sends its list a page at a time).
 */
export async function addToParents(
  client: Redis,
  keys: readonly QueueKeys[],
  id: string,
  parents: readonly string[],
  o: TellOptions,
): Promise<void> {
  const k = keys[shardOf(id, keys.length)]!;
  const touch = () => touchChild(client, k, id);
  const added = await markParents(client, keys, "add", id, parents, touch);
  // The drain tells the child of every ended parent (they are in ended-parents); the finished
  // ones are told now as well, so a child whose parents all finished is released without
  // waiting for a worker's next drain. A parent that did not finish is left to the drain: it
  // may fail the child, with the failure TTL the workers are configured with.
  const ended: ParentEnded[] = [];
  for (const [parent, mark] of added) {
    if (mark === "F") ended.push({ child: id, parent, letter: "F" });
  }
  for (let at = 0; at < ended.length; at += CHUNK) {
    await tellChildren(client, k, o, ended.slice(at, at + CHUNK));
  }
}

/**
 * Enqueues one job that waits for `parents` (ids of this queue): refused (InputError, nothing
 * written) when a parent is unknown. A caller id that exists is left alone (`created: false`),
 * unless it is this child still being registered (a producer sending again): it goes on, and
 * is refused (InputError, left as it is) when sent again with another parents list.
 */
export async function enqueueChild(
  client: Redis,
  keys: readonly QueueKeys[],
  c: ChildJob,
  o: TellOptions,
  /** The producer's layout (shardedSender's `layout`): absent, the child's shard is made. */
  layout?: LayoutHooks,
): Promise<Enqueued> {
  // An acknowledged parent's outcome may have expired since (input streamed over resultTtlS):
  // no typo. An id of no shard (`enqueued` given by hand) no shard would tell: still checked.
  const seen = c.acknowledged;
  const told = (p: string) => seen?.has(p) === true && shardOf(p, keys.length) >= 0;
  const check = seen ? c.parents.filter((p) => !told(p)) : c.parents;
  await checkParentsKnown(client, keys, check).catch(async (err: unknown) => {
    // A parent may be in a layout that replaced this one (read again on this failure only).
    if (!layout || !(err instanceof InputError) || (await layout.reread())) throw err;
    throw new LayoutReplaced("the queue's layout was replaced", { cause: err });
  });
  const id = c.job.id ?? Bun.randomUUIDv7();
  const k = keys[shardOf(id, keys.length)]!;
  const hash = parentsHash(c.parents);
  const parents = { count: c.parents.length, hash };
  const made = await sendByLayout(layout, (create) =>
    createChild(client, k, { ...c.job, id }, c.onParentFailure, parents, create),
  );
  if (!made.created && made.status !== "waiting-for-parents") return { id, created: false };
  if (!made.created && made.parentsHash !== "" && made.parentsHash !== hash) {
    throw new InputError(
      `job ${id} already waits for another list of parents (dependsOn differs from its first enqueue): left as it is`,
    );
  }
  await registerChild(client, keys, id, c.parents, made.listed ?? 0, o);
  return { id, created: made.created };
}
