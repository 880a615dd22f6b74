// How an element takes part in a page's rendered text, decided without a layout engine from the
// HTML default style sheet, a few attributes (`hidden`, `open`) and the inline `style` attribute.
// Style sheets are not applied: a page that hides text through a class is counted as shown.

/** What an element contributes around its children to `innerText`. */
export type Role =
  | "none" // not rendered at all (display:none, or never rendered)
  | "inline" // no break: `foo<b>bar</b>` is one word
  | "block" // a line break before and after
  | "paragraph" // a blank line before and after (`<p>`)
  | "row" // a line break after (`<tr>`)
  | "cell"; // a tab before the next cell (`<td>`, `<th>`)

/** An element's role and whether its own text is visible (visibility is inherited). */
export interface Display {
  role: Role;
  /** true or false when the inline style sets `visibility`, else null (inherited). */
  visible: boolean | null;
  /** A closed `<details>`: only its first `<summary>` is rendered. */
  summaryOnly: boolean;
}

// Never rendered: metadata, scripts, inert templates, replaced elements whose fallback content a
// browser with scripting and media support does not show, and form widgets drawn without text.
const NEVER = new Set(
  (
    "title script style noscript template meta link base iframe canvas video audio datalist rp " +
    "textarea meter progress noembed noframes"
  ).split(" "),
);

// display:block (or list-item, table…) in the HTML default style sheet. <html> and <body> are
// left out: their breaks only matter at the edges, which are trimmed, except where a parser
// keeps text outside <body> that a browser's parser moves into it (`<head>x</head>y` is "xy").
const BLOCKS = new Set(
  (
    "address article aside blockquote caption center dd details dialog dir div dl dt " +
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend " +
    "li listing main menu nav ol optgroup option pre search section summary table tbody " +
    "tfoot thead ul xmp"
  ).split(" "),
);

// CSS display values by the role they give; anything not listed keeps the element's default.
const DISPLAY_ROLES: Record<string, Role> = {
  none: "none",
  contents: "inline", // no box of its own: the children flow into the parent
  inline: "inline",
  "inline-block": "inline",
  "inline-flex": "inline",
  "inline-grid": "inline",
  "inline-table": "inline",
  ruby: "inline",
  block: "block",
  "flow-root": "block",
  flex: "block",
  grid: "block",
  "list-item": "block",
  table: "block",
  "table-caption": "block",
  "table-row-group": "block",
  "table-header-group": "block",
  "table-footer-group": "block",
  "table-row": "row",
  "table-cell": "cell",
};

// `visibility` values that set it; others (`inherit`, typos) leave the parent's.
const VISIBILITY: Record<string, boolean> = { visible: true, hidden: false, collapse: false };

const SVG_NAMESPACE = "http://www.w3.org/2000/svg";

/** The role and visibility of `element`, whose lower-cased local name is `name`. */
export function displayOf(element: Element, name: string): Display {
  let hidden = false;
  let open = false;
  let style: string | null = null;
  // One pass over the names: linkedom keeps their case, so getAttribute("style") misses
  // `STYLE=`. Not `element.attributes`, which linkedom builds as a Proxy on every call.
  if (element.hasAttributes()) {
    for (const attrName of element.getAttributeNames()) {
      const lower = attrName.toLowerCase();
      if (lower === "hidden") hidden = true;
      else if (lower === "open") open = true;
      else if (lower === "style") style = element.getAttributeNode(attrName)?.value ?? null;
    }
  }
  const declared = style === null ? {} : inlineStyle(style);
  const fromStyle = declared.display === undefined ? undefined : DISPLAY_ROLES[declared.display];
  // The inline style wins over `hidden`, as an author style wins over the default style sheet.
  const role = fromStyle ?? (hidden ? "none" : defaultRole(element, name, open));
  const visible = VISIBILITY[declared.visibility ?? ""] ?? null;
  return { role, visible, summaryOnly: name === "details" && !open };
}

function defaultRole(element: Element, name: string, open: boolean): Role {
  if (NEVER.has(name)) return "none";
  if (name === "p") return "paragraph";
  if (name === "tr") return "row";
  if (name === "td" || name === "th") return "cell";
  // A closed <dialog> is display:none; an open one is a block.
  if (name === "dialog") return open ? "block" : "none";
  if (BLOCKS.has(name)) return "block";
  // SVG <text> is laid out as a block of its own.
  if (name === "text" && element.namespaceURI === SVG_NAMESPACE) return "block";
  return "inline";
}

/**
 * The `display` and `visibility` values of a `style` attribute, lower-cased. The last
 * declaration wins unless an earlier one is `!important`, as in CSS.
 */
export function inlineStyle(style: string): { display?: string; visibility?: string } {
  const found: { display?: string; visibility?: string } = {};
  const important = new Set<string>();
  for (const declaration of style.split(";")) {
    const colon = declaration.indexOf(":");
    if (colon < 0) continue;
    const property = declaration.slice(0, colon).trim().toLowerCase();
    if (property !== "display" && property !== "visibility") continue;
    let value = declaration
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    const isImportant = /!\s*important$/.test(value);
    if (isImportant) value = value.replace(/\s*!\s*important$/, "");
    if (important.has(property) && !isImportant) continue;
    if (isImportant) important.add(property);
    found[property] = value;
  }
  return found;
}
