// A shard's ended parents, drained by workers (docs/internals.md, "Dependencies and batches";
// lib/worker/flows.ts): the typed owner of ended.lua's KEYS/ARGV and replies.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/** How a parent ended: `F` finished, `X` failed, `C` canceled, `?` no readable outcome. */
export type EndedLetter = "F" | "X" | "C" | "?";
/** As told to a child: a parent's letter, or `R` (its producer stopped before listing all). */
export type TellLetter = EndedLetter | "R";

export interface EndedParent {
  id: string;
  letter: EndedLetter;
  /** The ids of the jobs waiting for it (on any shard). */
  children: string[];
}

export interface EndedRead {
  parents: EndedParent[];
  /** The oldest children (of this shard) whose parents are to let go of them. */
  lettingGo: string[];
  /** The sweep of `released` found a full page with ended children in it: read again. */
  sweptMore: boolean;
  /** The page of children filled up: a parent may have more (it stays until all are told). */
  childrenMore: boolean;
}

function keysOf(k: QueueKeys): string[] {
  return [k.endedParents, k.hasDependents, k.released, k.lettingGo];
}

/**
 * The oldest `most` ended parents of the shard, with a page of their dependents: at most
 * `childrenMost` children in all (an outcome children still hold is kept: PERSIST); released
 * children that have ended get their parents list's TTL and go into letting-go (the sweep),
 * whose oldest `most` are answered.
 */
export async function readEnded(
  client: Redis,
  k: QueueKeys,
  most: number,
  childrenMost: number,
): Promise<EndedRead> {
  const args = ["read", k.resultPrefix, k.dependentsPrefix, most, k.parentsPrefix];
  args.push(k.recordPrefix, k.holdsPrefix, childrenMost);
  const [parents, letting, more, full] = await runScript<
    [[string, string, string[]][], string[], number, number]
  >(client, scripts.ended, keysOf(k), args);
  return {
    parents: parents.map(([id, letter, children]) => ({
      id: String(id),
      letter: String(letter) as EndedLetter,
      children: children.map(String),
    })),
    lettingGo: letting.map(String),
    sweptMore: Number(more) === 1,
    childrenMore: Number(full) === 1,
  };
}

/** Children whose parents have let go of them: out of letting-go. */
export async function letGone(client: Redis, k: QueueKeys, ids: readonly string[]) {
  if (ids.length === 0) return;
  await runScript(client, scripts.ended, keysOf(k), ["let", "", "", ...ids]);
}

/**
 * The children told leave their parents' dependents sets; a parent whose set is then empty
 * leaves ended-parents and has-dependents. One with children left (a page read of many, or a
 * child added since) stays: the next drain tells them.
 */
export async function doneEnded(client: Redis, k: QueueKeys, parents: readonly EndedParent[]) {
  if (parents.length === 0) return 0;
  const args: (string | number)[] = ["done", k.resultPrefix, k.dependentsPrefix];
  for (const p of parents) args.push(p.id, p.children.length, ...p.children);
  return Number(await runScript(client, scripts.ended, keysOf(k), args));
}
