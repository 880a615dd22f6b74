// Text from outside (a page's title, an HTTP status text, an error message, a worker's name)
// reaches the terminal through every human-readable output. A terminal obeys control
// characters: ESC and C1 sequences can retitle the window, rewrite what was printed, or on some
// terminals answer back with input; bidi overrides make text read differently from what it is.
// So every such string passes through `safeText` before it is printed, and shows its control
// characters as visible escapes instead.

// What shows nothing, one list (R-192, then every format character): each format character
// (Unicode Cf: the bidi overrides, isolates and marks, U+00AD the soft hyphen, U+200B the
// zero-width space, U+2060-U+2064 the word joiner and invisible operators, U+FEFF the byte order
// mark, the tag characters U+E0000-U+E007F, …) and each default-ignorable code point (what a
// font draws as nothing: the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, U+180E, U+034F, …).
// Two names that differ only by one of these read as one name in a listing.
const HIDDEN = String.raw`\p{Cf}\p{Default_Ignorable_Code_Point}`;
// Of those, what shapes the visible characters beside it: the zero-width (non-)joiners and the
// variation selectors (words and emoji are made of them: 👩‍💻, ❤️). Shown as they are in text,
// refused in a name (nameShowsAll).
const SHAPING = String.raw`\u200c\u200d\u180b-\u180d\u180f\ufe00-\ufe0f\u{e0100}-\u{e01ef}`;
// C0 except \n and \t (kept or not as the caller says), DEL, C1, the line and paragraph
// separators (U+2028, U+2029: a line break no one sees coming), a lone surrogate (half a
// character, which no output can encode), and HIDDEN but SHAPING.
// (One class, SHAPING taken out of it by the `v` flag's set difference: four times as fast as
// a lookahead before each character.)
const CONTROLS = String.raw`\u000b-\u001f\u007f-\u009f\u2028\u2029\ud800-\udfff`;
const UNSAFE_SOURCE = (breaks: string) => `[[${breaks}${CONTROLS}${HIDDEN}]--[${SHAPING}]]`;
/** The same set with the `u` flag (a lookahead for the difference), for browsers before `v`. */
const UNSAFE_SOURCE_U = (breaks: string) => `(?![${SHAPING}])[${breaks}${CONTROLS}${HIDDEN}]`;
const C0_KEEPING_BREAKS = String.raw`\u0000-\u0008`;
const C0_WITH_BREAKS = String.raw`\u0000-\u000a`;
const UNSAFE = new RegExp(UNSAFE_SOURCE(C0_KEEPING_BREAKS), "gv");
const UNSAFE_WITH_BREAKS = new RegExp(UNSAFE_SOURCE(C0_WITH_BREAKS), "gv");
const HIDDEN_ALL = new RegExp(`[${HIDDEN}]`, "gu");

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
  return safeText(cutText(text, max));
}

/** How far back from a cut cutText looks for the start of a character (a bound on its work). */
const CUT_LOOKBACK = 64;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * `text` cut to at most `max` UTF-16 units (then …), the one cut of all shown text (an error
 * line's quote, a table's cell): never inside a character as a reader sees it (a surrogate pair,
 * a letter and its accents, a joined emoji), so no half character is printed (U+FFFD, or output
 * that is no UTF-8) and no letter shown without its accent. One character longer than
 * CUT_LOOKBACK (a letter under hundreds of accents) is cut between its code points.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const from = Math.max(0, max - CUT_LOOKBACK);
  // A boundary at `max` depends on the code point after it: two units past.
  let start = 0;
  for (const { index } of graphemes.segment(text.slice(from, max + 2))) {
    if (index > max - from) break;
    start = index;
  }
  let end = from + start;
  if (start === 0) {
    // No character starts in the window past its first unit: cut between code points.
    const last = text.charCodeAt(max - 1);
    end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  }
  return `${text.slice(0, end)}…`;
}

/**
 * A name (a task's) as a refusal shows it: safeText, and the joiners and variation selectors
 * escaped too (SHAPING), since a name holding one is refused (nameShowsAll) for what it hides.
 */
export function safeName(name: string): string {
  return safeText(name).replace(HIDDEN_ALL, visible);
}

/**
 * Whether `name` (a task's) shows all it is: none of what safeText escapes (a name read one way
 * and stored another, R-192, cannot be told apart from the name it imitates in a listing). The
 * joiners and variation selectors emoji and scripts are made of are kept, as every Courier
 * before took them (`upload-☁️`): a name refused now would strand its producers and schedules.
 */
export function nameShowsAll(name: string): boolean {
  return safeText(name) === name;
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

/**
 * safeText as a module's source, for the dashboard's page (assets.ts serves it as
 * /safe-text.js): the same list and the same escapes, so a name reads alike on a page and on a
 * terminal. Built here, not bundled as text: a file the server imports cannot be bundled as
 * text too. `visible` uses nothing but its argument, so its source stands alone. A browser
 * without the `v` flag (before 2023) gets the `u` form (UNSAFE_SOURCE_U), not a broken page.
 */
export function safeTextModule(): string {
  const re = (c0: string) =>
    `pattern(${JSON.stringify(UNSAFE_SOURCE(c0))}, ${JSON.stringify(UNSAFE_SOURCE_U(c0))})`;
  return [
    "function pattern(v, u) {",
    "  try {",
    '    return new RegExp(v, "gv");',
    "  } catch {",
    '    return new RegExp(u, "gu");',
    "  }",
    "}",
    `const UNSAFE = ${re(C0_KEEPING_BREAKS)};`,
    `const UNSAFE_WITH_BREAKS = ${re(C0_WITH_BREAKS)};`,
    `const visible = ${visible.toString()};`,
    "export function safeText(text, options = {}) {",
    "  return text.replace(options.multiline ? UNSAFE : UNSAFE_WITH_BREAKS, visible);",
    "}",
  ].join("\n");
}

// JSON.stringify escapes C0 and lone surrogates but passes DEL, C1, bidi controls and the
// rest of UNSAFE through raw: JSON printed to a terminal gets them as \u escapes too (the same
// JSON value, only spelled differently).
const JSON_UNSAFE = UNSAFE_WITH_BREAKS;

/** JSON.stringify(value, replacer) with no raw control character left in it. */
export function safeJson(
  value: unknown,
  replacer?: (this: unknown, key: string, value: unknown) => unknown,
): string {
  return JSON.stringify(value, replacer).replace(JSON_UNSAFE, (c) =>
    [...Array(c.length).keys()]
      .map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`)
      .join(""),
  );
}
