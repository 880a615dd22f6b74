// The rows of bench/script-cost.ts: finish.lua and its variants, and single Lua operations.

import type { Script } from "../lib/engine/lua.ts";
import { includes } from "../lib/engine/lua-includes.ts";

/** How a row is called: see `round` in bench/script-cost.ts. */
export type Kind = "finish" | "static" | "bare" | "enqueue";

export interface Row {
  name: string;
  lua: string;
  kind: Kind;
  /** A loop of this many of one operation: reported per operation, the base row's time less. */
  repeats?: number;
}

const REPEATS = 10;
const loop = (name: string, body: string, pre = ""): Row => ({
  name: `per op: ${name}`,
  lua: `${pre}\nfor _ = 1, ${REPEATS} do\n${body}\nend\nreturn 1`,
  kind: "static",
  repeats: REPEATS,
});

// finish.lua's commands for one auto-id job that takes the next entry, with no helper, no check
// under pcall, no table it does not return: a floor for the same work in one script.
const FLAT = `
redis.call('TYPE', KEYS[2]); redis.call('TYPE', KEYS[3])
redis.call('TYPE', KEYS[5]); redis.call('TYPE', KEYS[6])
local seen = redis.call('HGET', KEYS[4], 'trimmed')
local taken = redis.call('XREADGROUP', 'GROUP', ARGV[3], ARGV[4], 'COUNT', ARGV[9], 'STREAMS',
  KEYS[1], '>')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minute = string.format('%d', math.floor(now / 60000))
local id = ARGV[13] .. ARGV[12]
redis.call('SET', ARGV[1] .. id, 'F' .. string.format('%d', now) .. ' ' .. ARGV[17], 'NX', 'EX',
  ARGV[5])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'type', 'finished', 'ids', id)
redis.call('HINCRBY', KEYS[3], 'finished', '1')
if seen ~= minute then redis.call('HSET', KEYS[4], 'trimmed', minute) end
redis.call('HINCRBY', KEYS[4], minute .. ':finished', '1')
redis.call('HINCRBY', KEYS[5], '5', '1')
redis.call('HINCRBY', KEYS[5], 'sum_ms', ARGV[16])
redis.call('SMISMEMBER', KEYS[7], id)
redis.call('XACK', KEYS[1], ARGV[3], ARGV[13])
redis.call('XDEL', KEYS[1], ARGV[13])
redis.call('HINCRBY', KEYS[3], 'started', ARGV[8])
return { { 1 }, taken[1][2], 0 }`;

const BUCKETS_LITERAL = /local BUCKETS = \{[^}]*\}/;
const BUCKETS_TOSTRING =
  "local BUCKETS = {}\nfor i, b in ipairs(BOUNDS) do BUCKETS[i] = tostring(b) end";

/** Everything before the script's first statement of its own: includes and helpers only. */
function helpersOnly(source: string): string {
  const lines = source.split("\n");
  const body = lines.findIndex((l) => l.startsWith("local rprefix"));
  return `${lines.slice(0, body).join("\n")}\nreturn 1`;
}

export async function variants(
  scripts: Readonly<Record<"finish" | "enqueue", Script>>,
  against?: string,
): Promise<Row[]> {
  const finish = scripts.finish.source;
  const rows: Row[] = [
    { name: "`return 1`, no keys or arguments", lua: "return 1", kind: "bare" },
    { name: "`return 1` with finish's 8 keys and 17 arguments", lua: "return 1", kind: "static" },
    {
      name: "finish's includes and functions defined, none called",
      lua: helpersOnly(finish),
      kind: "static",
    },
    loop("`redis.call('PING')`", "redis.call('PING')"),
    loop("`redis.call('TYPE', key).ok`", "local t = redis.call('TYPE', KEYS[2]).ok"),
    loop("the same under `pcall`", "local ok, t = pcall(redis.call, 'TYPE', KEYS[2])"),
    loop("`HINCRBY key field '1'`", "redis.call('HINCRBY', KEYS[3], 'x', '1')"),
    loop("`HINCRBY key field 1` (a Lua number)", "redis.call('HINCRBY', KEYS[3], 'x', 1)"),
    loop("`tostring(12345)`", "local s = tostring(12345)"),
    loop("`string.format('%d', 12345)`", "local s = string.format('%d', 12345)"),
    loop(
      "a table of 13 numbers",
      "local t = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000 }",
    ),
    loop("a `local function` (a closure)", "local function f(a) return a end"),
    loop(
      "`wrong_type` of 4 keys",
      "local w = wrong_type({ KEYS[2], 'stream', KEYS[3], 'hash', KEYS[5], 'hash', KEYS[6], 'stream' })",
      includes.wrongtype,
    ),
    loop("`add_count(key, field, 1)`", "add_count(KEYS[3], 'x', 1)", includes.counters),
    { name: "finish's commands, flat (no helpers, checks or pcall)", lua: FLAT, kind: "finish" },
    {
      name: "finish.lua, BUCKETS by `tostring()`",
      lua: finish.replace(BUCKETS_LITERAL, BUCKETS_TOSTRING),
      kind: "finish",
    },
    { name: "finish.lua", lua: finish, kind: "finish" },
    { name: "enqueue.lua, one job", lua: scripts.enqueue.source, kind: "enqueue" },
  ];
  if (against) {
    const other = (await import(`${against}/lib/engine/lua.ts`)).scripts as typeof scripts;
    rows.push({ name: `finish.lua of ${against}`, lua: other.finish.source, kind: "finish" });
    rows.push({
      name: `enqueue.lua of ${against}, one job`,
      lua: other.enqueue.source,
      kind: "enqueue",
    });
  }
  return rows;
}
