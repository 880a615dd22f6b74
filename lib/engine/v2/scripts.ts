// Engine v2's scripts (docs/internals.md, "Scripts"), side by side with v1's (lib/engine/lua.ts),
// which keep running everything until the switch-over. Each names its helpers with
// `--- @include` (lib/engine/lua-includes.ts): v1's wrongtype, minutes and entries, the one
// clock both engines share, and v2's dead-v2 (dead letters and failed outcomes).

import { script } from "../lua.ts";
import buryLua from "./lua/bury.lua" with { type: "text" };
import deadLua from "./lua/dead.lua" with { type: "text" };
import enqueueLua from "./lua/enqueue.lua" with { type: "text" };
import finishLua from "./lua/finish.lua" with { type: "text" };
import statusLua from "./lua/status.lua" with { type: "text" };

/** The shared snippet that writes dead letters and failed outcomes (bury, claim, fail). */
export const DEAD_LUA = deadLua;

export const v2Scripts = {
  enqueue: script("v2-enqueue", enqueueLua, 4, "v2/enqueue.lua"),
  finish: script("v2-finish", finishLua, 5, "v2/finish.lua"),
  bury: script("v2-bury", buryLua, 5, "v2/bury.lua"),
  status: script("v2-status", statusLua, 2, "v2/status.lua"),
} as const;
