// Text from outside (a page's title, an HTTP status text, an error message, a worker's name)
// reaches the terminal through every human-readable output. A terminal obeys control
// characters: ESC and C1 sequences can retitle the window, rewrite what was printed, or on some
// terminals answer back with input; bidi overrides make text read differently from what it is.
// So every such string passes through `safeText` before it is printed, and shows its control
// characters as visible escapes instead.

// C0 except \n and \t (kept or not as the caller says), DEL, C1, and the bidi overrides and
// isolates (U+202A–U+202E, U+2066–U+2069), and the marks that steer bidi text (U+061C, U+200E,
// U+200F); and what shows nothing or breaks a line where none is seen: the line and
// paragraph separators (U+2028, U+2029), the zero-width space, the word joiner and the byte
// order mark (U+200B, U+2060, U+FEFF), and the tag characters (U+E0000–U+E007F, a surrogate
// pair each: \uDB40\uDC00–\uDB40\uDC7F). The zero-width (non-)joiners stay: words and emoji
// are made of them.
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;
const UNSAFE_WITH_BREAKS =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;

export interface SafeTextOptions {
  /** Keep line breaks and tabs (a block of text meant to span lines); default: escape them. */
  multiline?: boolean;
}

/** `text` with every control character shown as `\xHH` or `\uHHHH`; safe to print. */
export function safeText(text: string, options: SafeTextOptions = {}): string {
  return text.replace(options.multiline ? UNSAFE : UNSAFE_WITH_BREAKS, visible);
}

/** The most of a caller's free text (a value that is no id or name) an error line quotes. */
export const SHOWN_MAX = 80;

/**
 * The most of an id or a name an error line quotes: longer than any Courier takes (a worker's
 * name 200, a job id 128, a schedule name 64), so a real one is shown whole.
 */
export const ID_SHOWN_MAX = 200;

/** A caller's text in an error line: cut to `max` characters (then …), control characters escaped. */
export function shownInput(text: string, max = SHOWN_MAX): string {
  return safeText(text.length > max ? `${text.slice(0, max)}…` : text);
}

/**
 * An id or a name the user may paste back (`dead show ID`, `schedule remove NAME`): whole, so
 * two long ones read apart and the one printed is the one to type; what is longer than any id
 * is no id, and cut (a 100,000-character argument does not fill the line).
 */
export function shownId(text: string): string {
  return shownInput(text, ID_SHOWN_MAX);
}

function visible(c: string): string {
  const code = c.codePointAt(0)!;
  if (c === "\n") return "\\n";
  if (c === "\t") return "\\t";
  if (c === "\r") return "\\r";
  if (code > 0xffff) return `\\u{${code.toString(16)}}`; // a tag character
  const hex = code.toString(16).padStart(code > 0xff ? 4 : 2, "0");
  return code > 0xff ? `\\u${hex}` : `\\x${hex}`;
}

// JSON.stringify escapes C0 but passes DEL, C1 and bidi controls through raw: JSON printed to
// a terminal gets them as \u escapes too (the same JSON value, only spelled differently).
const JSON_UNSAFE =
  /[\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\u2028\u2029\ufeff]|\udb40[\udc00-\udc7f]/g;

/** JSON.stringify(value) with no raw control character left in it. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (c) =>
    [...Array(c.length).keys()]
      .map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`)
      .join(""),
  );
}
