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

/**
 * `check`: where each parent is (nothing written). `add`: each parent not ended records `child`
 * as its dependent; an ended one is only answered (the caller tells the child).
 */
export async function dependOn(
  client: Redis,
  k: QueueKeys,
  mode: "check" | "add",
  child: string,
  parents: readonly string[],
): Promise<ParentMark[]> {
  if (parents.length === 0) return [];
  const args = [mode, k.resultPrefix, k.recordPrefix, k.dependentsPrefix, child, k.idSuffix];
  const reply = await runScript<string[]>(
    client,
    scripts.depend,
    [k.hasDependents, k.stream, k.endedParents],
    [...args, ...parents],
  );
  return reply.map((m) => String(m) as ParentMark);
}
