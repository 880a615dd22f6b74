// The one wording for a job whose own failed value (`r:<id>`) or record (`job:<id>`) is a key of
// another type (a hand edit, another program): `result`, `dead show|requeue|delete` and the
// dashboard say it alike, whether a read found it (TYPE) or a script did (`courier: key …`).
import { safeText } from "../safe-text.ts";

/** `cannot be read: key K holds a T where Courier keeps a W; …what to do`. */
export function cannotBeRead(key: string, has: string, wants: string): string {
  const fix = "another program uses these keys: give Courier its own --prefix, or delete that key";
  return `cannot be read: key ${safeText(key)} holds a ${safeText(has)} where Courier keeps a ${safeText(wants)}; ${fix}`;
}

/**
 * A script's own answer for one job (lib/engine/lua/include/wrongtype.lua: `courier: key K holds
 * a T, not a W`) in those words; null when `text` is not that answer.
 */
export function cannotBeReadReply(text: string): string | null {
  const m = /courier: key (.+) holds an? (\w+), not an? (\w+)/.exec(text);
  return m ? cannotBeRead(m[1]!, m[2]!, m[3]!) : null;
}
