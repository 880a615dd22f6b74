// A child's parents on one parent shard (docs/internals.md, "Dependencies and batches"): the
// typed owner of depend.lua's KEYS/ARGV and reply.
import type { Redis } from "../redis/connect.ts";
import type { QueueKeys } from "./keys.ts";
import { runScript, scripts } from "./lua.ts";

/**
 * Where a parent is: ended (`F` finished, `X` failed, `C` canceled, `?` ended with no readable
 * outcome), `w` not ended yet, `` unknown (never enqueued, or its outcome expired).
 */
export type ParentMark = "F" | "X" | "C" | "?" | "w" | "";

/** How old a producer's look at its child may be when its depend.lua 'add' lands. */
export const LOOK_MOST_MS = 20_000;

/**
 * `check`: where each parent is (nothing written). `add`: each parent records `child` as its
 * dependent and keeps its outcome for it; an ended one also goes into ended-parents (the drain
 * tells the child; the caller may tell it first). `lookedAt` (Redis ms, child.lua 'touch'): when
 * the caller last saw the child waiting; an 'add' landing LOOK_MOST_MS after it writes nothing
 * and answers "late" (the orphan sweep may have taken the child over since).
 */
export async function dependOn(
  client: Redis,
  k: QueueKeys,
  mode: "check" | "add",
  child: string,
  parents: readonly string[],
  lookedAt?: number,
): Promise<ParentMark[] | "late"> {
  if (parents.length === 0) return [];
  const args = [mode, k.resultPrefix, k.recordPrefix, k.dependentsPrefix, child, k.idSuffix];
  args.push(k.holdsPrefix, lookedAt === undefined ? "" : String(lookedAt), String(LOOK_MOST_MS));
  const reply = await runScript<string[]>(
    client,
    scripts.depend,
    [k.hasDependents, k.stream, k.endedParents],
    [...args, ...parents],
  );
  if (reply.length === 1 && String(reply[0]) === "late") return "late";
  return reply.map((m) => String(m) as ParentMark);
}

/** TTLs (s) an outcome gets back once no child holds it. */
export interface KeptTtls {
  resultTtlS: number;
  failureTtlS: number;
}

/**
 * `child` (ended, failed or canceled waiting) lets go of its `parents` (of this shard): a parent
 * no other child holds gets its outcome's TTL back. Returns how many did.
 */
export async function letGoOf(
  client: Redis,
  k: QueueKeys,
  child: string,
  parents: readonly string[],
  o: KeptTtls,
): Promise<number> {
  if (parents.length === 0) return 0;
  const args = ["letgo", k.resultPrefix, k.recordPrefix, k.dependentsPrefix, child, k.idSuffix];
  args.push(k.holdsPrefix, String(o.resultTtlS), String(o.failureTtlS), ...parents);
  return Number(
    await runScript(client, scripts.depend, [k.hasDependents, k.stream, k.endedParents], args),
  );
}
