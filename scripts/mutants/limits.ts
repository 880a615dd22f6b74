// The rate limits' mutants (scripts/mutants/list.ts appends them): each a small deliberate bug
// that breaks one guarantee of docs/internals.md, "Rate limits", and the tests that must catch it.
import { type Mutant, m } from "./mutant.ts";

const LUA = (name: string) => `lib/engine/lua/${name}.lua`;
const LIMITED = "lib/worker/limited.ts";
const SLOT = "lib/worker/limit-slot.ts";
const E = "tests/engine.limit.test.ts";
const W = "tests/limits.worker.test.ts";

// biome-ignore format: a table, one mutant to three lines
export const limitMutants: Mutant[] = [
  m("limit-spacing-without-lateness", LUA("limit"), "slots are (interval + late) / N apart: any window of one interval holds at most N starts though each may be late",
    "return { spacing = (per + late) / n, late = late }",
    "return { spacing = per / n, late = late }", [E]),
  m("limit-concurrency-unchecked", LUA("limit"), "at most C jobs of one key run at once",
    "if not mine and redis.call('ZCARD', running) >= kc then",
    "if false then", [E, W]),
  m("limit-expired-slot-kept", LUA("limit"), "a dead worker's running slot frees itself at its expiry",
    "      redis.call('ZREMRANGEBYSCORE', running, '-inf', now)\n      local prev",
    "      local prev", [E]),
  m("limit-key-rate-unchecked", LUA("limit"), "at most R jobs of one key start per interval",
    "      x = math.max(x, ktat)",
    "      x = x", [E, W]),
  m("limit-hold-ignored", LUA("limit"), "no job of a held key starts before the hold ends",
    "if held > now then return 'H ' .. held .. ' held' end",
    "", [E, W]),
  m("limit-gaps-wasted", LUA("limit"), "queue slots a key's job skips over stay free for other jobs",
    "    add_gap(tat, s - sp)\n",
    "", [E]),
  m("limit-waiters-not-woken", LUA("limit-done"), "a freed running slot wakes the first waiting job",
    "      woken[#woken + 1] = m",
    "", [E, W]),
  m("limit-hold-spends-attempt", LUA("include/readd"), "a job held back by a limit (or left for a worker with its task) spends no attempt",
    "local attempts = unrun_attempts(f, p[4]) or ''",
    "local attempts = unrun_attempts(f, p[4] + 1) or ''", [E, W, "tests/engine.leave.test.ts"]),
  m("unrun-record-keeps-ttl", LUA("include/readd"), "a job given back unrun (held, or left for a worker with its task) waits on a record with no TTL",
    "  keep_enqueued(key, id)\n  redis.call('PERSIST', key)\n  return key",
    "  keep_enqueued(key, id)\n  return key", [E, "tests/engine.leave.test.ts"]),
  m("limit-late-start-made", SLOT, "a start its timer fired past the lateness bound is not made",
    "  return now <= slot.latest ? \"start\" : \"late\";",
    "  return \"start\";", [W, "tests/limits.cli.test.ts"]),
  m("limit-start-before-slot", SLOT, "no job starts before its slot, though a timer fires early (Bun truncates fractional delays)",
    "  if (now < slot.earliest) return slot.earliest - now;",
    "  if (now < slot.earliest - 1) return slot.earliest - now;", ["tests/limits.cli.test.ts"]),
  m("limit-start-while-paused", LIMITED, "a job whose slot comes while its queue is paused does not start",
    "    if (action === \"start\" && !this.d.paused() && !full) {",
    "    if (action === \"start\" && !full) {", [W]),
  m("limit-reread-running-asked", LIMITED, "an entry read again while its job runs here is never asked about, held or slotted again",
    "if (this.jobs.has(j.entryId) || this.#busy.has(j.entryId)) continue;",
    "if (this.jobs.waits.has(j.entryId)) continue;", ["tests/limits.gate.test.ts"]),
  m("limit-slot-by-job-id", LUA("limit"), "a run frees only its own running slot, never its claimer's",
    "redis.call('ZADD', running, s + hold_ms, token)",
    "redis.call('ZADD', running, s + hold_ms, id)", ["tests/limits.slots.test.ts"]),
  m("limit-gone-waiter-kept", LUA("limit-done"), "a waiter that ended never swallows a wake: the next is woken",
    "  redis.call('ZREM', ARGV[2] .. ARGV[i + 1], ARGV[i])\n",
    "", ["tests/limits.wake.test.ts"]),
  m("limit-rate-schedule-stale", LUA("limit"), "held jobs that are gone leave no schedule of rate holds behind",
    "if hold_next and ktat <= now then",
    "if false then", ["tests/limits.slots.test.ts"]),
  m("limit-rate-change-no-wake", "lib/admin/controls.ts", "a key rate change wakes the jobs held under the old one",
    "if (change.keyRate !== undefined) {",
    "if (false) {", ["tests/limits.slots.test.ts"]),
  m("limit-readd-drops-key", "lib/engine/lua/include/readd.lua", "a re-added job keeps its limit key",
    "  if f.k and f.k ~= '' then put('k', f.k) end\n",
    "", [E]),
  // trigger's key from the one parse of its line, and the key's form check's fast path.
  m("limit-key-line-long-host", "lib/tasks/wordcount/limit-key.ts", "a URL whose host cannot be a limit key refuses its line",
    "  if (problem) throw refuse(url.href, `its host cannot be a limit key (",
    "  if (false) throw refuse(url.href, `its host cannot be a limit key (", ["tests/wordcount.limit-key.test.ts", "tests/trigger.limit-key.test.ts"]),
  m("limit-key-line-wrong-host", "lib/tasks/wordcount/limit-key.ts", "a line's limit key is its URL's host and port",
    "return { payload: { url: url.href }, limitKey: url.host };",
    "return { payload: { url: url.href }, limitKey: url.host.replace(/:\\d+$/, \"\") };",
    ["tests/wordcount.limit-key.test.ts", "tests/trigger.limit-key.test.ts"]),
  m("limit-key-plain-too-long", "lib/engine/limits.ts", "a limit key of plain ASCII is at most 256 bytes too",
    "\\\\x7e]{1,", "\\\\x7e]{1,2", // 2256 bytes
    ["tests/wordcount.limit-key.test.ts"]),
];
