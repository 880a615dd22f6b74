// A limit key one of whose own keys holds another type (limit.lua's `corrupt` hold: a hand edit,
// another program sharing the prefix): its jobs are held a minute at a time, the other keys' run
// on (docs/internals.md, "Rate limits"). The operator is told once per key and worker, with the
// key's name (the logger escapes control characters), not once per job and minute.
import type { LimitProblemKind } from "../engine/limit.ts";
import type { Logger } from "../log.ts";

/** Keys told of at most: past that the set starts again (a key may then be told twice). */
const MOST_TOLD = 1_000;

/**
 * Tells `log` of each problem the first time it is seen: `unreadable` (limit.lua's `corrupt`
 * hold, or a key limit-done.lua skipped: `<key> holds a <type>, not a <type>`), or `dropped` (a
 * waiting list's members that named no job, dropped). The kind is the script's marker, never
 * read from the text: a key or a member may hold any words, ` holds a ` too.
 */
export function corruptTeller(log: Logger): (problem: string, kind?: LimitProblemKind) => void {
  const told = new Set<string>();
  return (problem, kind = "unreadable") => {
    const seen = `${kind} ${problem}`;
    if (told.has(seen)) return;
    if (told.size >= MOST_TOLD) told.clear();
    told.add(seen);
    if (kind === "dropped") {
      log.log("warn", "limit key waiting list: members naming no job dropped", { problem });
      return;
    }
    // The key's own name may hold the words: the last ` holds a ` is the script's.
    const at = problem.lastIndexOf(" holds a ");
    log.log("warn", "limit key unreadable: its jobs held a minute at a time until it is deleted", {
      key: problem.slice(0, at),
      problem: problem.slice(at + 1),
    });
  };
}
