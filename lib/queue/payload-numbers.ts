// Numbers JSON cannot carry. JSON.stringify writes NaN and ±Infinity as null, and JSON.parse
// reads a number beyond a double (`1e999`) as Infinity: either way a payload would be stored
// with a null where a number was given, and the job run on it. Refused instead (InputError).

/**
 * The first NaN or ±Infinity in `value` and where it is (`payload.items[2].price`), or
 * undefined. Walked without recursion; run after payloadDepthProblem, which refuses a payload
 * that contains itself.
 */
export function nonFiniteAt(value: unknown): { path: string; n: number } | undefined {
  const stack: [unknown, string][] = [[value, "payload"]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, path] = top;
    if (typeof v === "number" && !Number.isFinite(v)) return { path, n: v };
    if (typeof v !== "object" || v === null) continue;
    // Pushed last to first, so the first one in the payload's order is found first.
    const entries = Array.isArray(v)
      ? v.map((child, i): [unknown, string] => [child, `${path}[${i}]`])
      : Object.entries(v).map(([k, child]): [unknown, string] => [child, `${path}${member(k)}`]);
    for (let i = entries.length - 1; i >= 0; i--) stack.push(entries[i]!);
  }
  return undefined;
}

/** `.name`, or `["a key"]` for a key that is not a plain name. */
function member(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * The refusal for a payload already serialised as `json`, or undefined. Cheap for most
 * payloads: a NaN or Infinity is written as null, so only a text with a null is walked.
 */
export function nonFiniteProblem(value: unknown, json: string): string | undefined {
  if (!json.includes("null")) return undefined;
  const found = nonFiniteAt(value);
  if (found === undefined) return undefined;
  return `the payload holds a number JSON cannot carry (${found.n}) at ${found.path}: it would be stored as null`;
}
