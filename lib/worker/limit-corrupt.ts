// A limit key one of whose own keys holds another type (limit.lua's `corrupt` hold: a hand edit,
// another program sharing the prefix): its jobs are held a minute at a time, the other keys' run
// on (docs/internals.md, "Rate limits"). The operator is told once per key and worker, with the
// key's name (the logger escapes control characters), not once per job and minute.
import type { Logger } from "../log.ts";

/** Keys told of at most: past that the set starts again (a key may then be told twice). */
const MOST_TOLD = 1_000;

/**
 * Tells `log` of each problem (`<key> holds a <type>, not a <type>`, or a waiting list's members
 * that named no job, dropped) the first time it is seen.
 */
export function corruptTeller(log: Logger): (problem: string) => void {
  const told = new Set<string>();
  return (problem) => {
    if (told.has(problem)) return;
    if (told.size >= MOST_TOLD) told.clear();
    told.add(problem);
    const at = problem.lastIndexOf(" holds a ");
    if (at === -1) {
      // limit-done.lua's other problem: `<waiting list>: <n> members naming no job … dropped`.
      log.log("warn", "limit key waiting list: members naming no job dropped", { problem });
      return;
    }
    log.log("warn", "limit key unreadable: its jobs held a minute at a time until it is deleted", {
      key: problem.slice(0, at),
      problem: problem.slice(at + 1),
    });
  };
}
