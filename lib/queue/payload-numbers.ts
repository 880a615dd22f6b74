// Numbers JSON cannot carry. JSON.stringify writes NaN and ±Infinity as null, and JSON.parse
// reads a number beyond a double (`1e999`) as Infinity: either way a payload would be stored
// with a null where a number was given, and the job run on it. Refused instead (InputError;
// a task's result so is a PermanentError).

import type { JsonWhat } from "./payload-json.ts";

/**
 * The first NaN or ±Infinity in `value` as JSON.stringify serialises it (after each toJSON,
 * whose results are all that is stored) and where it is (`payload.items[2].price`), or
 * undefined. Run after the payload was serialised once, so it cannot throw.
 */
export function nonFiniteAt(
  value: unknown,
  root: JsonWhat = "payload",
): { path: string; n: number } | undefined {
  const paths = new Map<unknown, string>();
  let found: { path: string; n: number } | undefined;
  // The replacer sees each value after its toJSON, with its holder as `this`.
  JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    if (found) return undefined; // found: the rest is not walked
    const at = paths.get(this);
    const path =
      at === undefined ? root : Array.isArray(this) ? `${at}[${key}]` : `${at}${member(key)}`;
    if (typeof v === "number" && !Number.isFinite(v)) found = { path, n: v };
    else if (typeof v === "object" && v !== null) paths.set(v, path);
    return v;
  });
  return found;
}

/**
 * Whether serialising `value` meets a NaN or ±Infinity. A plain payload is walked as it is
 * (cheaper than serialising it again); one with a toJSON is asked of the serialiser, which
 * sees what each toJSON returns. Run after the payload was serialised, or on what JSON.parse
 * made of a text whose depth was checked (trigger --payload): no cycle, depth bounded.
 */
export function hasNonFinite(value: unknown): boolean {
  const stack: unknown[] = [value];
  for (let v = stack.pop(); stack.length > 0 || v !== undefined; v = stack.pop()) {
    if (typeof v === "number" && !Number.isFinite(v)) return true;
    if (typeof v !== "object" || v === null) continue;
    if (hasToJson(v)) return nonFiniteAt(value) !== undefined;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  return false;
}

function hasToJson(v: object): boolean {
  return typeof (v as { toJSON?: unknown }).toJSON === "function";
}

/** `.name`, or `["a key"]` for a key that is not a plain name. */
function member(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * The refusal for a payload already serialised as `json`, or undefined. Cheap for most
 * payloads: a NaN or Infinity is written as null, so only a text with a null is walked.
 */
export function nonFiniteProblem(
  value: unknown,
  json: string,
  what: JsonWhat = "payload",
): string | undefined {
  if (!json.includes("null") || !hasNonFinite(value)) return undefined;
  const found = nonFiniteAt(value, what);
  if (found === undefined) return undefined;
  return `the ${what} holds a number JSON cannot carry (${found.n}) at ${found.path}: it would be stored as null`;
}
