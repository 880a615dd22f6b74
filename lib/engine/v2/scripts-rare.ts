// The v2 rare-path scripts (docs/engine-v2.md §2.8–2.13), side by side with the v1 engine: each
// is its script's text after the helpers it uses, concatenated here until the loader expands
// `--- @include` lines (then each script names its helpers and this file goes).

import { script } from "../lua.ts";
import claimSrc from "./lua/claim.lua" with { type: "text" };
import clockSrc from "./lua/clock-h5-tmp.lua" with { type: "text" };
import deadSrc from "./lua/dead-h5-tmp.lua" with { type: "text" };
import discardSrc from "./lua/discard.lua" with { type: "text" };
import failSrc from "./lua/fail.lua" with { type: "text" };
import failedSrc from "./lua/failed.lua" with { type: "text" };
import leaveSrc from "./lua/leave.lua" with { type: "text" };
import promoteSrc from "./lua/promote.lua" with { type: "text" };
import readdSrc from "./lua/readd.lua" with { type: "text" };
import releaseSrc from "./lua/release.lua" with { type: "text" };
import requeueSrc from "./lua/requeue.lua" with { type: "text" };
import serveSrc from "./lua/serve.lua" with { type: "text" };

const withHelpers = (...parts: string[]) => parts.join("\n");
// History of runs, per-minute counts, acknowledge-and-trim: today's helpers (lib/engine/lua/
// include/), today's formats. (h-8: bridged onto the includes after main's h-1 merge, until h-5
// moves these scripts onto `--- @include` lines of their own.)
const includes = ["wrongtype", "history", "minutes", "memory", "entries"];
const bridge = `${includes.map((n) => `--- @include ${n}`).join("\n")}
local function settle_entries(stream, group, entries) return ack_and_trim(stream, group, entries) end`;
const base = withHelpers(bridge, clockSrc, readdSrc);

export const rareScripts = {
  fail: script("v2-fail", withHelpers(base, deadSrc, failSrc), 6),
  promote: script("v2-promote", withHelpers(base, promoteSrc), 2),
  claim: script("v2-claim", withHelpers(base, deadSrc, claimSrc), 5),
  leave: script("v2-leave", withHelpers(base, leaveSrc), 3),
  serve: script("v2-serve", withHelpers(base, serveSrc), 2),
  release: script("v2-release", withHelpers(base, releaseSrc), 1),
  requeue: script("v2-requeue", withHelpers(base, failedSrc, requeueSrc), 3),
  discard: script("v2-discard", withHelpers(base, failedSrc, discardSrc), 1),
} as const;
