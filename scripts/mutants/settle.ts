// The mutants of "a bad record is settled on its own" in the admin reads, the dead-letter
// actions and the worker's upkeep (R88 findings 2, 3, 4, 7): each a small deliberate bug that
// lets one corrupt key fail its whole call, or a long list be read whole.
import { type Mutant, m } from "./mutant.ts";

const T = (name: string) => `tests/${name}.test.ts`;
const DEAD = "lib/admin/dead-actions.ts";
const WORKERS = "lib/admin/workers.ts";
const PRESENCE = "lib/worker/presence.ts";

// biome-ignore format: a table, one mutant to three lines
export const settleMutants: Mutant[] = [
  m("dead-pointer-unchecked", "lib/admin/dead-find.ts", "a letter id past a stream id's range is not sent to Redis: the scan finds the letter",
    "if (!known || !ENTRY_ID.test(known) || !isAutoId(known)) return null;", "if (!known || !ENTRY_ID.test(known)) return null;", [T("dead.settle")]),
  m("dead-shard-not-settled", DEAD, "an id whose keys Redis refuses leaves the other shards' ids done",
    "const reason = refusalOf(err);", "if (err) throw err; const reason = refusalOf(err);", [T("dead.settle")]),
  m("info-worker-wrongtype-thrown", WORKERS, "one worker record of another type is its own row: info, /metrics and the dashboard show the rest",
    ".catch(wrongTypeAs(null))", "", [T("info.workers.unreadable")]),
  m("info-worker-unreadable-live", WORKERS, "an unreadable worker record is not counted live",
    'return w.state !== "gone" && w.state !== "unreadable";', 'return w.state !== "gone";', [T("info.workers.unreadable")]),
  m("merge-worker-unreadable-lost", "lib/admin/shards.ts", "a worker record unreadable in one shard is said whatever the others say",
    "if (w.unreadable !== undefined) seen.unreadable ??= w.unreadable;", "", [T("info.workers.unreadable")]),
  m("parked-corrupt-throws", PRESENCE, "a parked set of another type leaves the other tasks' parked jobs served, all of them, and the beat's answer",
    "for (const task of served.corrupt ?? []) corrupt.add(",
    "if (served.corrupt) throw new Error(\"corrupt parked set\");\n    void (", [T("worker.parked.corrupt")]),
  m("beat-answer-lost-to-serve", PRESENCE, "the heartbeat's answer (the name taken?) never depends on serving",
    "return { held: beaten.value, corrupt: [], serveFailed: served.reason };", "throw served.reason;", [T("worker.parked.corrupt")]),
  m("parked-corrupt-logged-every-beat", "lib/worker/upkeep.ts", "a parked set of another type is logged once, not at every heartbeat",
    "      if (this.#corrupt.has(key)) continue;\n", "", [T("worker.parked.corrupt")]),
  m("letgo-parents-collected", "lib/worker/holds.ts", "a child lets go of its parents a page at a time: memory is one page, whatever its list's length",
    "for await (const parents of parentPages(client, k, child, page)) {",
    "for (const parents of [(await Array.fromAsync(parentPages(client, k, child, page))).flat()]) {", [T("flows.parents.pages")]),
  m("sweep-parents-collected", "lib/worker/orphans.ts", "the orphan sweep registers a listed child a page of parents at a time",
    "for await (const ids of parentPages(client, k, c.id, page)) {",
    "for (const ids of [(await Array.fromAsync(parentPages(client, k, c.id, page))).flat()]) {", [T("flows.parents.pages")]),
];
