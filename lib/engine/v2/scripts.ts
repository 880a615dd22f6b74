// Engine v2's scripts (docs/engine-v2.md §5.4), side by side with v1's (lib/engine/lua.ts),
// which keep running everything until the switch-over. Shared helpers are prepended by string
// concatenation, each script listing exactly the ones it uses, until the loader's
// `--- @include` lands. v1's helpers are reused as they are: _wrongtype.lua (queue-wide keys of
// the wrong type refused before any write), _attempts.lua (count_minute, and settle_entries:
// acknowledge, then trim by MINID behind the oldest pending entry).

import attemptsSrc from "../lua/_attempts.lua" with { type: "text" };
import wrongTypeSrc from "../lua/_wrongtype.lua" with { type: "text" };
import { script } from "../lua.ts";
import buryLua from "./lua/bury.lua" with { type: "text" };
import clockLua from "./lua/clock.lua" with { type: "text" };
import deadLua from "./lua/dead.lua" with { type: "text" };
import enqueueLua from "./lua/enqueue.lua" with { type: "text" };
import finishLua from "./lua/finish.lua" with { type: "text" };
import statusLua from "./lua/status.lua" with { type: "text" };

/** The shared snippet that writes dead letters and failed outcomes (bury, claim, fail). */
export const DEAD_LUA = deadLua;

export const v2Scripts = {
  enqueue: script("v2-enqueue", wrongTypeSrc + clockLua + enqueueLua, 4),
  finish: script("v2-finish", wrongTypeSrc + attemptsSrc + clockLua + finishLua, 5),
  bury: script("v2-bury", wrongTypeSrc + attemptsSrc + clockLua + DEAD_LUA + buryLua, 5),
  status: script("v2-status", statusLua, 2),
} as const;
