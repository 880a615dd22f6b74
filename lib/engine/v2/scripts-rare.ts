// The v2 rare-path scripts (docs/internals.md, "Scripts"), side by side with the v1 engine. Each
// names its helpers with `--- @include` (lib/engine/lua-includes.ts).

import { script } from "../lua.ts";
import claimSrc from "./lua/claim.lua" with { type: "text" };
import discardSrc from "./lua/discard.lua" with { type: "text" };
import failSrc from "./lua/fail.lua" with { type: "text" };
import leaveSrc from "./lua/leave.lua" with { type: "text" };
import promoteSrc from "./lua/promote.lua" with { type: "text" };
import releaseSrc from "./lua/release.lua" with { type: "text" };
import requeueSrc from "./lua/requeue.lua" with { type: "text" };
import serveSrc from "./lua/serve.lua" with { type: "text" };

export const rareScripts = {
  fail: script("v2-fail", failSrc, 6, "v2/fail.lua"),
  promote: script("v2-promote", promoteSrc, 2, "v2/promote.lua"),
  claim: script("v2-claim", claimSrc, 5, "v2/claim.lua"),
  leave: script("v2-leave", leaveSrc, 3, "v2/leave.lua"),
  serve: script("v2-serve", serveSrc, 2, "v2/serve.lua"),
  release: script("v2-release", releaseSrc, 1, "v2/release.lua"),
  requeue: script("v2-requeue", requeueSrc, 3, "v2/requeue.lua"),
  discard: script("v2-discard", discardSrc, 1, "v2/discard.lua"),
} as const;
