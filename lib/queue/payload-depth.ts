// How deeply a payload may nest. JSON.parse reads `[[[[…]]]]` of any depth, but JSON.stringify
// recurses and throws a RangeError (a stack overflow) somewhere past a few thousand levels,
// where exactly depends on the stack left; a worker's task would do no better. A fixed bound,
// far above any real payload, refuses such a payload the same way wherever it is checked.

import type { JsonWhat } from "./payload-json.ts";

/** The most levels of arrays and objects a payload may have. */
export const PAYLOAD_DEPTH_MAX = 1000;

/** The refusal: too deep, or it contains itself (JSON.stringify finds either). */
export const tooDeep = (what: JsonWhat) =>
  `the ${what} nests too deeply: more than ${PAYLOAD_DEPTH_MAX} levels of arrays and objects (or it contains itself)`;
export const TOO_DEEP = tooDeep("payload");

/**
 * The refusal for a payload already serialised as `json`, or undefined: its text is what is
 * stored, and what a toJSON made of the value (a 5,000-deep array) is only in the text. Cheap
 * for most payloads: a text shorter than two brackets a level cannot be too deep.
 */
export function jsonDepthProblem(
  json: string,
  what: JsonWhat = "payload",
  /** The levels allowed: one more for a text that wraps a payload in an object of its own. */
  most = PAYLOAD_DEPTH_MAX,
): string | undefined {
  if (json.length <= 2 * most) return undefined;
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    // A string's brackets are no level.
    if (c === 34) i = stringEnd(json, i);
    else if (c === 91 || c === 123) {
      if (++depth > most) return tooDeep(what);
    } else if (c === 93 || c === 125) depth--;
  }
  return undefined;
}

/** Where the JSON string opened at `start` ends: its closing quote, not an escaped one. */
function stringEnd(json: string, start: number): number {
  for (let i = json.indexOf('"', start + 1); i !== -1; i = json.indexOf('"', i + 1)) {
    let slashes = 0;
    while (json.charCodeAt(i - 1 - slashes) === 92) slashes++;
    if (slashes % 2 === 0) return i;
  }
  return json.length;
}

/** The refusal, or undefined. Walked without recursion; an object that contains itself is refused too. */
export function payloadDepthProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (!Array.isArray(value) && flat(value)) return undefined; // most payloads: no walk, no copy
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== "object" || v === null) continue;
    if (depth > PAYLOAD_DEPTH_MAX) return TOO_DEEP;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return undefined;
}

/** Whether an object holds no object or array (one level deep), read without copying its values. */
function flat(o: object): boolean {
  for (const k in o) {
    const child = (o as Record<string, unknown>)[k];
    if (typeof child === "object" && child !== null) return false;
  }
  return true;
}
