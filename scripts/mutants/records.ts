// Mutants of "a bad record is settled on its own" in the scripts (scripts/mutants/list.ts
// appends them): a counter field that is not an integer, or a due time that is no number, must
// never fail the rest of a call; a job's key of another type is that id's answer alone. Each a
// small deliberate bug and the tests that must catch it.
import { type Mutant, m } from "./mutant.ts";

const LUA = (name: string) => `lib/engine/lua/${name}.lua`;
const T = (name: string) => `tests/${name}.test.ts`;

// biome-ignore format: a table, one mutant to three lines
export const recordMutants: Mutant[] = [
  m("hold-limit-holds-raw", LUA("hold"), "a record's limit_holds that is not an integer never fails a hold batch half-way (a job delayed and pending: run twice)",
    "add_count(key, 'limit_holds', 1)",
    "redis.call('HINCRBY', key, 'limit_holds', 1)", [T("lua.counters"), T("engine.limit")]),
  m("hold-due-nan-raises", LUA("hold"), "a hold whose due time is NaN (a limit key's corrupt held_until) never fails its batch half-way: held a minute",
    "if not due or due ~= due or due == math.huge then",
    "if not due or due == math.huge then", [T("hold.due")]),
  m("hold-due-inf-forever", LUA("hold"), "a hold whose due time is +inf is held a minute, not for good",
    "if not due or due ~= due or due == math.huge then",
    "if not due or due ~= due then", [T("hold.due")]),
  m("child-enqueued-raw", LUA("child"), "a stats enqueued that is not an integer never fails an enqueue with parents after its record is written",
    "add_count(KEYS[3], 'enqueued', 1)",
    "redis.call('HINCRBY', KEYS[3], 'enqueued', 1)", [T("lua.counters")]),
  m("limit-seq-raw", LUA("limit"), "a key's seq that is not an integer fails no limiter call (other keys' slots taken, the call unanswered)",
    "  local ok, n = pcall(redis.call, 'HINCRBY', khash, 'seq', 1)",
    "  local ok, n = true, redis.call('HINCRBY', khash, 'seq', 1)", [T("lua.counters")]),
  m("limit-seq-restart-at-one", LUA("limit"), "a key's seq started again keeps the waiting order: past the list's highest place",
    "  n = math.floor(math.max(math.abs(tonumber(low) or 0), math.abs(tonumber(high) or 0))) + 1",
    "  n = 1", [T("lua.counters")]),
  m("limit-seq-woken-ignored", LUA("limit"), "a key's seq started again counts the woken waiters' places (scored negative) too",
    "math.max(math.abs(tonumber(low) or 0), math.abs(tonumber(high) or 0))",
    "math.max(0, math.abs(tonumber(high) or 0))", [T("lua.counters")]),
  m("requeue-wrongtype-active", LUA("requeue"), "a dead job whose record or failed value is a key of another type is unreadable (exit 6), not said to be alive (active, exit 4)",
    "      j.verdict = 'unreadable'",
    "      j.verdict = 'active'", [T("dead.settle")]),
  m("requeue-wrongtype-names-record", LUA("requeue"), "an unreadable dead job names the key of another type: its failed value, not its record",
    "j.reason = vok and unreadable(jprefix .. j.id, 'hash')",
    "j.reason = true and unreadable(jprefix .. j.id, 'hash')", [T("dead.settle")]),
  m("requeue-unreadable-raw-reason", "lib/admin/dead-actions.ts", "an unreadable dead job's reason is told in the CLI's words (what to do), not the script's raw text",
    "reason: refusalLine(d.reason) ?? d.reason",
    "reason: d.reason", [T("dead.settle")]),
  m("discard-wrongtype-deleted", LUA("discard"), "a dead job whose failed value or record is a key of another type is not deleted with its letter (not Courier's to delete): unreadable, exit 6",
    "  elseif why then",
    "  elseif false then", [T("dead.settle")]),
  m("discard-wrongtype-record-unchecked", LUA("discard"), "delete checks the job's record's type too, not only its failed value's",
    "{ { rprefix .. id, 'string' }, { jprefix .. id, 'hash' } }",
    "{ { rprefix .. id, 'string' } }", [T("dead.settle")]),
  m("discard-wrongtype-none", LUA("discard"), "a job whose failed value or record has expired (no key) is deleted as ever, not unreadable",
    "    if t ~= 'none' and t ~= k[2] then",
    "    if t ~= k[2] then", [T("engine.dead"), T("dead")]),
  m("delete-unreadable-missing", "lib/admin/dead-actions.ts", "an unreadable id of delete is said so (exit 6), not as having no dead letter (exit 4)",
    "if (d.unreadable !== undefined) done.set",
    "if (d.unreadable === null) done.set", [T("dead.settle")]),
  m("dead-show-id-cut", "bin/dead.ts", "dead show names an id with no letter whole (the one to paste back), not cut at 80",
    "safeText(id)}`);",
    "safeText(id.slice(0, 80))}`);", [T("cli.ids.whole")]),
  m("schedule-remove-name-cut", "bin/schedule.ts", "schedule remove names a schedule it did not find whole, not cut at 80",
    "safeText(given)} (prefix",
    "safeText(given.slice(0, 80))} (prefix", [T("cli.ids.whole")]),
  m("schedule-pause-name-cut", "lib/schedule/schedules.ts", "schedule pause/resume name a schedule they did not find whole, not cut at 80",
    "safeText(name)} (prefix",
    "safeText(name.slice(0, 80))} (prefix", [T("cli.ids.whole")]),
];
