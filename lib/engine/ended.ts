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

/**
 * The oldest `most` ended parents of the shard, with their dependents (nothing written for
 * them); released children that have ended get their parents list's TTL (the sweep).
 */
export async function readEnded(client: Redis, k: QueueKeys, most: number): Promise<EndedParent[]> {
  const reply = await runScript<[string, string, string[]][]>(
    client,
    scripts.ended,
    [k.endedParents, k.hasDependents, k.released],
    ["read", k.resultPrefix, k.dependentsPrefix, most, k.parentsPrefix, k.recordPrefix],
  );
  return reply.map(([id, letter, children]) => ({
    id: String(id),
    letter: String(letter) as EndedLetter,
    children: children.map(String),
  }));
}

/**
 * Parents whose dependents were all told: out of ended-parents and has-dependents, unless one
 * has more dependents now than the drain read (a child added since: told by the next drain).
 */
export async function doneEnded(client: Redis, k: QueueKeys, parents: readonly EndedParent[]) {
  if (parents.length === 0) return 0;
  const args: (string | number)[] = ["done", k.resultPrefix, k.dependentsPrefix];
  for (const p of parents) args.push(p.id, p.children.length);
  const keys = [k.endedParents, k.hasDependents, k.released];
  return Number(await runScript(client, scripts.ended, keys, args));
}
