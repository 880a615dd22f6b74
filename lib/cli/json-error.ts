// Where a text stops being JSON, and why, in words that never quote the text. JSON.parse says
// `Unexpected identifier "root"`: for `--payload-file /etc/shadow` that is the file's first
// word on the terminal (and in logs). This scan names a line and column instead.

export interface JsonSyntaxError {
  /** Offset (UTF-16 code units) where the text stops being JSON. */
  at: number;
  /** What was expected there; never a piece of the text. */
  why: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = new Set([" ", "\t", "\n", "\r"]);

/** The first syntax error of `text` as JSON, or null when it is JSON. Iterative: any depth. */
export function jsonSyntaxError(text: string): JsonSyntaxError | null {
  const s = { text, i: 0 };
  const stack: ("{" | "[")[] = [];
  for (;;) {
    const read = value(s, stack);
    if (read === "open") continue;
    if (read) return read;
    const after = close(s, stack);
    if (after !== "value") return after;
  }
}

type Scan = { text: string; i: number };
const fail = (s: Scan, why: string): JsonSyntaxError => ({ at: s.i, why });

/** Past `n` characters read well: no error. */
function step(s: Scan, n: number): null {
  s.i += n;
  return null;
}

function skipWs(s: Scan): void {
  while (s.i < s.text.length && WS.has(s.text[s.i]!)) s.i++;
}

/** One value, or "open": an array or object opened (pushed), whose first value comes next. */
function value(s: Scan, stack: ("{" | "[")[]): JsonSyntaxError | null | "open" {
  skipWs(s);
  const c = s.text[s.i];
  if (c === undefined) return fail(s, "the text ends where a value should be");
  if (c === "{" || c === "[") {
    s.i++;
    skipWs(s);
    if (s.text[s.i] === (c === "{" ? "}" : "]")) return step(s, 1);
    stack.push(c);
    return (c === "{" ? key(s) : null) ?? "open";
  }
  if (c === '"') return string(s);
  NUMBER.lastIndex = s.i;
  if (c === "-" || (c >= "0" && c <= "9")) {
    if (!NUMBER.test(s.text)) return fail(s, "a malformed number");
    s.i = NUMBER.lastIndex;
    return null;
  }
  for (const word of ["true", "false", "null"]) {
    if (s.text.startsWith(word, s.i)) return step(s, word.length);
  }
  return fail(s, "an unexpected character where a value should be");
}

/** After a value: closes what it ends, then "value" when a comma asks for the next one. */
function close(s: Scan, stack: ("{" | "[")[]): JsonSyntaxError | null | "value" {
  for (;;) {
    skipWs(s);
    const top = stack.at(-1);
    const c = s.text[s.i];
    if (top === undefined)
      return c === undefined ? null : fail(s, "more text after the JSON value");
    if (c === ",") {
      s.i++;
      if (top === "[") return "value";
      return key(s) ?? "value";
    }
    if (c === (top === "{" ? "}" : "]")) {
      s.i++;
      stack.pop();
      continue;
    }
    if (c === undefined)
      return fail(s, `the text ends inside an ${top === "{" ? "object" : "array"}`);
    return fail(s, top === "{" ? "expected , or }" : "expected , or ]");
  }
}

/** `"name":` in an object. */
function key(s: Scan): JsonSyntaxError | null {
  skipWs(s);
  if (s.text[s.i] !== '"') return fail(s, "expected a property name in double quotes");
  const bad = string(s);
  if (bad) return bad;
  skipWs(s);
  if (s.text[s.i] !== ":") return fail(s, "expected : after a property name");
  s.i++;
  return null;
}

function string(s: Scan): JsonSyntaxError | null {
  s.i++; // the opening quote
  for (;;) {
    const c = s.text[s.i];
    if (c === undefined) return fail(s, "the text ends inside a string");
    if (c === '"') return step(s, 1);
    if (c < " ")
      return fail(s, "a control character inside a string (write it as \\n, \\t, \\u0000…)");
    if (c === "\\") {
      const e = s.text[s.i + 1];
      if (e === "u" && /^[0-9A-Fa-f]{4}$/.test(s.text.slice(s.i + 2, s.i + 6))) s.i += 6;
      else if (e !== undefined && '"\\/bfnrt'.includes(e)) s.i += 2;
      else return fail(s, "a malformed escape in a string");
    } else s.i++;
  }
}

/** `line L, column C` (both from 1) of an offset in `text`. */
export function lineColumn(text: string, at: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${at - start + 1}`;
}

/**
 * Offset of the first number in `text` (JSON that parsed) too big for a double (`1e999`, which
 * JSON.parse reads as Infinity), or -1. Strings are passed over: a number in one is text.
 */
export function hugeNumberAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      const token = NUMBER.exec(text)?.[0] ?? c;
      if (!Number.isFinite(Number(token))) return i;
      i += token.length - 1;
    }
  }
  return -1;
}
