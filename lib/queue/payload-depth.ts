// How deeply a payload may nest. JSON.parse reads `[[[[…]]]]` of any depth, but JSON.stringify
// recurses and throws a RangeError (a stack overflow) somewhere past a few thousand levels,
// where exactly depends on the stack left; a worker's task would do no better. A fixed bound,
// far above any real payload, refuses such a payload the same way wherever it is checked.

/** The most levels of arrays and objects a payload may have. */
export const PAYLOAD_DEPTH_MAX = 1000;

/** The refusal, or undefined. Walked without recursion; an object that contains itself is refused too. */
export function payloadDepthProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (!Array.isArray(value) && flat(value)) return undefined; // most payloads: no walk, no copy
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== "object" || v === null) continue;
    if (depth > PAYLOAD_DEPTH_MAX) {
      return `the payload nests too deeply: more than ${PAYLOAD_DEPTH_MAX} levels of arrays and objects (or it contains itself)`;
    }
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
