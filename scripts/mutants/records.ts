// Mutants of "a bad record is settled on its own" in the scripts (scripts/mutants/list.ts
// appends them): a counter field that is not an integer, or a due time that is no number, must
// never fail the rest of a call. Each a small deliberate bug and the tests that must catch it.
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
];
