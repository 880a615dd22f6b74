// Holding a limit key (a host's 429 or 503 with Retry-After): owns hold-key.lua's KEYS/ARGV
// order and reply. docs/internals.md, "Rate limits".
import { InputError } from "../errors.ts";
import { kindOf } from "../option-keys.ts";
import type { Redis } from "../redis/connect.ts";
import type { LimitKeys } from "./keys.ts";
import { limitKeyProblem } from "./limits.ts";
import { runScript, scripts } from "./lua.ts";

/** The longest hold: a day (a Retry-After of years is a mistake, not a plan). */
export const HOLD_MAX_MS = 86_400_000;

/**
 * Holds `key` for `holdMs` from now (Redis' clock): no job of the key starts on any worker
 * until then; jobs read meanwhile are given back without spending an attempt. A hold never
 * shortens one already on. Returns the hold's end (Redis' ms). A key of the hold's of another
 * type is refused by name (`courier: key … holds a …`), nothing written.
 */
export async function holdKey(
  client: Redis,
  lk: LimitKeys,
  key: string,
  holdMs: number,
): Promise<number> {
  const problem = limitKeyProblem(key);
  if (problem) throw new InputError(problem);
  if (typeof holdMs !== "number" || !Number.isFinite(holdMs) || holdMs < 0) {
    throw new InputError(`a hold must be a number of milliseconds from 0, got ${kindOf(holdMs)}`);
  }
  const ms = Math.min(HOLD_MAX_MS, Math.ceil(holdMs));
  const keys = [lk.key(key), lk.keys, lk.layout];
  return Number(await runScript<number>(client, scripts.holdKey, keys, [key, ms]));
}
