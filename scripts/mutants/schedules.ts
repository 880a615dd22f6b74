// Schedules read in pages (scripts/mutants/list.ts appends them): each a small deliberate bug
// that breaks one guarantee of docs/internals.md, "Recurring schedules" (the `names` index, the
// listing's pages, the due read's page of queues), and the tests that must catch it.
import { type Mutant, m } from "./mutant.ts";

const LUA = (name: string) => `lib/engine/lua/${name}.lua`;
const LIST = "tests/schedule.list.test.ts";
const SWEEP = "tests/schedule.sweep.test.ts";
const METRICS = "tests/metrics.schedules.test.ts";

// biome-ignore format: a table, one mutant to three lines
export const scheduleMutants: Mutant[] = [
  m("schedule-names-not-added", LUA("schedule-save"), "a saved schedule is in its queue's names index",
    "redis.call('ZADD', names .. queue, 0, name)", "", [LIST, METRICS]),
  m("schedule-names-move-kept", LUA("schedule-save"), "a schedule replaced into another queue leaves the old queue's index",
    "  unlist(old)\n  if old then redis.call('ZREM', names .. old, name) end\nend", "  unlist(old)\nend", [LIST]),
  m("schedule-names-remove-kept", LUA("schedule-save"), "a removed schedule leaves its queue's index",
    "  unlist(old)\n  if old then redis.call('ZREM', names .. old, name) end\n  redis.call('HDEL', KEYS[2], name)",
    "  unlist(old)\n  redis.call('HDEL', KEYS[2], name)", [LIST]),
  m("schedule-index-never-built", "lib/schedule/read.ts", "schedules saved before the names index are listed and counted",
    "  if ((await client.sendCommand<number>([\"EXISTS\", k.indexed])) === 1) return;", "  return;", [LIST]),
  m("schedule-index-full-redis-fails-reads", "lib/schedule/read.ts", "a full Redis (the index build refused) still lets info, /metrics and the dashboard read",
    "    if (!isOomError(err)) throw err;", "    throw err;", ["tests/redis-full.info.test.ts"]),
  m("schedule-index-never-marked", LUA("schedule-index"), "the names index, once whole, is not built again",
    "if page[1] == '0' then redis.call('SET', KEYS[2], '1') end", "", [LIST]),
  m("schedule-names-one-page", "lib/schedule/read.ts", "a queue's listing goes on past its first page",
    "    if (names.length < page) return;", "    return;", [LIST]),
  m("schedule-shown-uncapped", "lib/admin/info-schedules.ts", "info and /metrics list at most SCHEDULES_SHOWN schedules of a queue",
    "queuePages(client, k, queue, most).next()", "queuePages(client, k, queue).next()", [METRICS]),
  m("schedule-due-all-queues", LUA("schedule-due"), "a due read of every queue walks a page of queues, not all",
    "'COUNT', tonumber(ARGV[4]))", "'COUNT', 1000000)", [SWEEP]),
  m("schedule-due-earliest-only", LUA("schedule-due"), "a queue whose earliest schedule is due has its due ones read",
    "    if later[2] and tonumber(later[2]) <= now then", "    if false then", [SWEEP, "tests/schedule.fire.test.ts"]),
  m("schedule-due-cursor-dropped", "lib/schedule/loop.ts", "the loop of every queue carries the cursor: every page of queues is read",
    "        const { cursor, readAgain } = this.#sweep;", "        const { readAgain } = this.#sweep;\n        const cursor = \"0\";", [SWEEP]),
  m("schedule-due-full-page-skipped", "lib/schedule/fire.ts", "a page of queues with more due than a pass is read again before the cursor moves",
    "const cursor = readAgain ? page.cursor : read.cursor;", "const cursor = read.cursor;", [SWEEP]),
  m("schedule-listed-under-old-queue", "lib/schedule/read.ts", "a queue's listing leaves out a name whose definition names another queue",
    "s !== undefined && (s.def === null || s.def.queue === queue)", "s !== undefined", [LIST]),
  m("schedule-due-full-page-pins", "lib/schedule/fire.ts", "a page that stays full is read again once, then the sweep moves on",
    "const readAgain = due.length >= PASS_MOST && !o.readAgain;", "const readAgain = due.length >= PASS_MOST;", [SWEEP]),
  m("cron-length-unbounded", "lib/schedule/spec.ts", "a cron expression is at most 1,000 characters (every pass and listing reads the definitions)",
    "  if (expression.length > CRON_MAX_LENGTH) {", "  if (false) {", ["tests/schedule.ticks.test.ts"]),
  m("schedule-run-empty-queue-taken", "bin/schedule.ts", "schedule run --queue with an empty name in its list is refused, not read as every queue",
    "    if (queues.some((q) => q.trim() === \"\")) {", "    if (false) {", ["tests/schedule.cli.test.ts"]),
  m("ticks-outage-jumps-to-latest", "lib/schedule/ticks.ts", "after an outage each tick within 5 s gets its job in turn, not the latest alone",
    "  if (firstOnTime !== null && firstOnTime <= nowMs) {", "  if (false) {", ["tests/schedule.ticks.test.ts"]),
  m("info-scheduled-queue-unlisted", "lib/admin/info.ts", "info lists a queue that has a schedule but no key yet",
    "known = [...new Set([...found, ...scheduled])].sort();", "known = [...found].sort();", ["tests/schedule.cli.test.ts"]),
  m("info-scheduled-queue-not-found", "bin/info.ts", "info --queue of a queue with a schedule but no key yet shows it, not exit 4",
    "if (given && !(await admin.exists()) && !(await scheduled())) {", "if (given && !(await admin.exists())) {", ["tests/schedule.cli.test.ts"]),
  m("schedule-loop-keeps-first-client", "lib/schedule/loop.ts", "a worker's schedules fire again once its stalled command connection was replaced",
    "const client = this.o.client();", "const client = (this.first ??= this.o.client());", ["tests/worker.schedules.stall.test.ts"]),
  m("scheduler-keeps-stalled-client", "lib/schedule/scheduler.ts", "a standalone scheduler fires again once its cut connection was replaced",
    "stalled: () => link.replace(),", "stalled: () => undefined,", ["tests/schedule.scheduler.stall.test.ts"]),
  m("schedule-pass-unanswered-unsaid", "lib/schedule/fire.ts", "a pass whose tick's enqueue got no answer says so (its loop's connection replaced)",
    "result.unanswered = true;", "result.unanswered = false;", ["tests/schedule.scheduler.stall.test.ts"]),
  m("schedule-loop-unanswered-kept", "lib/schedule/loop.ts", "a loop replaces its connection after a pass whose enqueue got no answer",
    "if (r.unanswered) this.o.stalled?.();", "", ["tests/schedule.scheduler.stall.test.ts"]),
  m("schedule-loop-unanswered-pass-kept", "lib/schedule/loop.ts", "a loop replaces its connection after a pass that got no answer",
    "if (err instanceof NoAnswerError) this.o.stalled?.();", "", ["tests/schedule.scheduler.stall.test.ts"]),
  m("schedule-def-deep-taken", "lib/schedule/spec.ts", "a definition whose payload nests past any payload's depth is corrupt (backed off), not enqueued after 5 s of JSON.stringify",
    "  if (jsonDepthProblem(text) !== undefined) return null;\n", "", ["tests/schedule.fire.test.ts"]),
  m("schedule-due-inf-score-nan", "lib/engine/schedule.ts", "a due tick stored as -inf fires once and is advanced, not fired at every pass",
    "const score = scoreOf(String(flat[i + 1]));", "const score = Number(flat[i + 1]);", ["tests/schedule.fire.test.ts"]),
  m("schedule-due-inf-earliest-nan", "lib/engine/schedule.ts", "a next tick stored as inf makes the loop wait, not pass again every ms",
    "const at = earliest === \"\" ? null : scoreOf(earliest);", "const at = earliest === \"\" ? null : Number(earliest);", ["tests/schedule.fire.test.ts"]),
];
