// Promotion of due jobs (docs/internals.md, "6. Fail and retry"): owns promote.lua's KEYS/ARGV and reply.
import type { Redis } from "../../redis/connect.ts";
import { runScript } from "../lua.ts";
import type { V2Keys } from "./keys.ts";
import { rareScripts } from "./scripts-rare.ts";

/** Moves up to `most` jobs due by Redis' clock back to the stream; returns how many moved. */
export async function promoteDue(client: Redis, k: V2Keys, most = 1000): Promise<number> {
  const keys = [k.delayed, k.stream];
  return await runScript<number>(client, rareScripts.promote, keys, [k.recordPrefix, most]);
}
