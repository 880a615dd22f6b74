// Extracts the text a reader sees on a page, approximating Chromium's `document.body.innerText`
// without a layout engine: only the HTML default styles and inline `style` attributes are known.

import { parseHTML } from "linkedom";
import { displayOf, type Role } from "./_display.ts";

export interface ExtractedText {
  /** Rendered text: block boundaries become newlines, table cells tabs, `<pre>` kept as is. */
  text: string;
  /** The `<title>`, whitespace collapsed, or null. */
  title: string | null;
  /** The `<html lang>` attribute, or null. */
  lang: string | null;
}

// Whitespace is kept verbatim inside these (white-space: pre in the default style sheet).
const PREFORMATTED = new Set(["pre", "listing", "xmp", "plaintext"]);

// A pending separator between two runs of text; a stronger one replaces a weaker one, the way
// innerText's "required line break counts" merge into the largest.
type Separator = "" | "\t" | "\n" | "\n\n";
const STRENGTH: Record<Separator, number> = { "": 0, "\t": 1, "\n": 2, "\n\n": 3 };
const BEFORE: Record<Role, Separator> = {
  none: "",
  inline: "",
  block: "\n",
  paragraph: "\n\n",
  row: "",
  cell: "",
};

/** Leaving an element that changed the walk's state: the state to go back to. */
interface Restore {
  preDepth: number;
  visible: boolean;
}
type WorkItem = Node | Separator | Restore;

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
  /** Inside this many preformatted elements: whitespace is kept. */
  preDepth: number;
  /** The current element's visibility (inherited, as CSS `visibility` is). */
  visible: boolean;
}

/** Parses `html` and returns its rendered text, title and language. */
export function extractText(html: string): ExtractedText {
  return extractFromDocument(parseHTML(html).document);
}

/** The rendered text, title and language of a parsed document (the bench times the two apart). */
export function extractFromDocument(document: Document): ExtractedText {
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
    visible: true,
  };
  const stack: WorkItem[] = [...root.childNodes].reverse();
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === "string") {
      separate(out, item);
      continue;
    }
    // A Restore has no nodeType; reading it is cheaper than an `in` test up the prototype chain.
    const type = (item as Partial<Node>).nodeType;
    if (type === TEXT_NODE) appendText(out, (item as Text).data);
    else if (type === ELEMENT_NODE) enterElement(out, item as Element, stack);
    else if (type === undefined) Object.assign(out, item);
    // Comments (and so CDATA sections, which HTML parses as comments), doctypes and processing
    // instructions render nothing.
  }
  return trimCollapsible(out.parts.join(""));
}

/** Trims only collapsible whitespace: a no-break space is text to a browser. */
function trimCollapsible(text: string): string {
  // A loop, not /^\s+|\s+$/: that regex tries the tail pattern at every position of the text.
  let start = 0;
  let end = text.length;
  while (start < end && isCollapsible(text.charCodeAt(start))) start += 1;
  while (end > start && isCollapsible(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(start, end);
}

function isCollapsible(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x0c;
}

function enterElement(out: TextBuilder, element: Element, stack: WorkItem[]): void {
  const name = element.localName.toLowerCase();
  const display = displayOf(element, name);
  if (display.role === "none") return;
  const visible = display.visible ?? out.visible;
  if (name === "br") {
    if (visible) lineBreak(out);
    return;
  }
  // Pushed first, so they are popped after the children. A box whose visibility is hidden
  // still holds its children (which may be visible) but adds no breaks of its own.
  const after = visible ? separatorAfter(display.role, element) : "";
  if (after !== "") stack.push(after);
  const pre = PREFORMATTED.has(name);
  if (pre || visible !== out.visible) {
    stack.push({ preDepth: out.preDepth, visible: out.visible });
    out.visible = visible;
    if (pre) out.preDepth += 1;
  }
  if (visible) separate(out, BEFORE[display.role]);
  const children = display.summaryOnly ? summaryOf(element) : element.childNodes;
  for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]!);
}

function separatorAfter(role: Role, element: Element): Separator {
  if (role === "paragraph") return "\n\n";
  if (role === "block" || role === "row") return "\n";
  // A tab separates cells; the last cell of a row ends with the row's line break instead.
  if (role === "cell") return isCell(element.nextElementSibling) ? "\t" : "";
  return "";
}

function isCell(element: Element | null): boolean {
  const name = element?.localName.toLowerCase();
  return name === "td" || name === "th";
}

/** The children of a closed `<details>` that are rendered: its first `<summary>`, if any. */
function summaryOf(details: Element): Element[] {
  for (const child of details.children) {
    if (child.localName.toLowerCase() === "summary") return [child];
  }
  return [];
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

// Text that whitespace collapsing would change; most text nodes have none, and a test is
// cheaper than a replace that allocates a copy.
const NEEDS_COLLAPSING = /[\t\n\r\f]| {2}/;

function appendText(out: TextBuilder, raw: string): void {
  if (!out.visible || raw === "") return;
  let text = raw;
  if (out.preDepth === 0) {
    // Outside <pre>, runs of HTML whitespace collapse to one space (U+00A0 is not collapsed).
    if (NEEDS_COLLAPSING.test(text)) text = text.replace(/[ \t\n\r\f]+/g, " ");
    const dropLeading = out.lineStart || out.trailingSpace || out.pending !== "";
    if (dropLeading && text.charCodeAt(0) === 0x20) text = text.slice(1);
    if (text === "") return;
  }
  flushSeparator(out);
  out.parts.push(text);
  const last = text.charCodeAt(text.length - 1);
  out.lineStart = last === 0x0a;
  out.trailingSpace = out.preDepth === 0 && last === 0x20;
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
