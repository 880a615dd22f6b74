// Extracts the text a reader sees on a page, approximating Chromium's `document.body.innerText`
// without a layout engine: only the HTML default styles and inline `style` attributes are known.

import { parseHTML } from "linkedom";

export interface ExtractedText {
  /** Rendered text: block boundaries become newlines, table cells tabs, `<pre>` kept as is. */
  text: string;
  /** The `<title>`, whitespace collapsed, or null. */
  title: string | null;
  /** The `<html lang>` attribute, or null. */
  lang: string | null;
}

// Never rendered: metadata, scripts, inert templates, and fallback content that a browser
// with scripting and media support does not show.
const SKIPPED = new Set(
  (
    "head title script style noscript template meta link base iframe canvas video audio " +
    "datalist rp"
  ).split(" "),
);

// Elements that are display:block (or list-item, table…) in the HTML default style sheet.
const BLOCKS = new Set(
  (
    "address article aside blockquote body caption center dd details dialog dir div dl dt " +
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend " +
    "li listing main menu nav ol optgroup option pre search section summary table tbody " +
    "tfoot thead ul xmp"
  ).split(" "),
);

// Whitespace is kept verbatim inside these (white-space: pre in the default style sheet).
const PREFORMATTED = new Set(["pre", "listing", "xmp", "plaintext"]);

// A pending separator between two runs of text; a stronger one replaces a weaker one.
type Separator = "" | "\t" | "\n" | "\n\n";
const STRENGTH: Record<Separator, number> = { "": 0, "\t": 1, "\n": 2, "\n\n": 3 };

const LEAVE_PRE = Symbol("leave pre");
type WorkItem = Node | Separator | typeof LEAVE_PRE;

const TEXT_NODE = 3;
const ELEMENT_NODE = 1;

/** The output being built: parts joined once at the end, never concatenated in a loop. */
interface TextBuilder {
  parts: string[];
  pending: Separator;
  /** The last part ended with a collapsible space (dropped before a line break). */
  trailingSpace: boolean;
  /** Nothing visible since the last line break: a leading collapsible space is dropped. */
  lineStart: boolean;
  preDepth: number;
}

/** Parses `html` and returns its rendered text, title and language. */
export function extractText(html: string): ExtractedText {
  const { document } = parseHTML(html);
  // Walk from the document itself, not `document.body`: linkedom does not build the implied
  // <html>/<body> of a fragment, and text outside <body> is still rendered by a browser.
  const text = renderText(document);
  const titleText = document.querySelector("title")?.textContent ?? "";
  const title = titleText.replace(/\s+/g, " ").trim();
  const htmlElement = document.querySelector("html");
  const lang = htmlElement ? attribute(htmlElement, "lang")?.trim() || null : null;
  return { text, title: title === "" ? null : title, lang };
}

/** Depth-first walk with an explicit stack, so a deeply nested page cannot overflow the stack. */
function renderText(root: Node): string {
  const out: TextBuilder = {
    parts: [],
    pending: "",
    trailingSpace: false,
    lineStart: true,
    preDepth: 0,
  };
  const stack: WorkItem[] = [...root.childNodes].reverse();
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item === LEAVE_PRE) out.preDepth -= 1;
    else if (typeof item === "string") separate(out, item);
    else if (item.nodeType === TEXT_NODE) appendText(out, item.nodeValue ?? "");
    else if (item.nodeType === ELEMENT_NODE) enterElement(out, item as Element, stack);
    // Comments, doctypes and processing instructions render nothing.
  }
  return out.parts.join("").trim();
}

function enterElement(out: TextBuilder, element: Element, stack: WorkItem[]): void {
  const name = element.localName.toLowerCase();
  if (SKIPPED.has(name) || isHidden(element)) return;
  if (name === "br") {
    lineBreak(out);
    return;
  }
  // Pushed first, so it is popped after the children.
  const after = separatorAfter(name);
  if (after !== "") stack.push(after);
  if (PREFORMATTED.has(name)) {
    out.preDepth += 1;
    stack.push(LEAVE_PRE);
  }
  if (name === "p") separate(out, "\n\n");
  else if (BLOCKS.has(name) || name === "tr") separate(out, "\n");
  const children = element.childNodes;
  for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]!);
}

function separatorAfter(name: string): Separator {
  if (name === "p") return "\n\n";
  if (name === "td" || name === "th") return "\t";
  if (name === "tr" || BLOCKS.has(name)) return "\n";
  return "";
}

/** Hidden by the `hidden` attribute or an inline style; its whole subtree is skipped. */
function isHidden(element: Element): boolean {
  if (attribute(element, "hidden") !== null) return true;
  const style = attribute(element, "style");
  if (style === null) return false;
  return /(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse))\s*(?:!important\s*)?(?:;|$)/i.test(
    style,
  );
}

/** An attribute by name, ignoring case (linkedom keeps `<HTML LANG=…>` upper case). */
function attribute(element: Element, name: string): string | null {
  const exact = element.getAttribute(name);
  if (exact !== null) return exact;
  for (const attr of element.attributes) {
    if (attr.name.toLowerCase() === name) return attr.value;
  }
  return null;
}

function separate(out: TextBuilder, separator: Separator): void {
  if (STRENGTH[separator] > STRENGTH[out.pending]) out.pending = separator;
}

function appendText(out: TextBuilder, raw: string): void {
  let text = raw;
  if (out.preDepth === 0) {
    // Outside <pre>, runs of HTML whitespace collapse to one space (U+00A0 is not collapsed).
    text = text.replace(/[ \t\n\r\f]+/g, " ");
    if (out.lineStart || out.trailingSpace || out.pending !== "") text = text.replace(/^ /, "");
  }
  if (text === "") return;
  flushSeparator(out);
  out.parts.push(text);
  out.lineStart = text.endsWith("\n");
  out.trailingSpace = out.preDepth === 0 && text.endsWith(" ");
}

/** `<br>`: a line break that is always kept, even several in a row. */
function lineBreak(out: TextBuilder): void {
  flushSeparator(out);
  dropTrailingSpace(out);
  out.parts.push("\n");
  out.lineStart = true;
}

/** Writes the pending separator, but only between two pieces of text, never at the start. */
function flushSeparator(out: TextBuilder): void {
  if (out.pending === "") return;
  if (out.parts.length > 0) {
    dropTrailingSpace(out);
    out.parts.push(out.pending);
    out.lineStart = out.pending !== "\t";
  }
  out.pending = "";
}

function dropTrailingSpace(out: TextBuilder): void {
  if (!out.trailingSpace) return;
  const last = out.parts.length - 1;
  out.parts[last] = out.parts[last]!.slice(0, -1);
  out.trailingSpace = false;
}
