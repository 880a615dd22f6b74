// Turns the fetched bytes into a string, choosing the encoding the way a browser does (a
// simplified WHATWG "encoding sniffing": BOM, then header, then <meta> prescan, then UTF-8).

/**
 * Bytes always searched for a `<meta charset>`. Past them the search goes on only while the
 * tags seen so far belong in `<head>`, as Chromium's does: a page whose head opens with a long
 * inline script or style still has its declaration found.
 */
export const META_PRESCAN_BYTES = 1024;

/** The search for a `<meta charset>` never reads past this many bytes. */
export const META_SCAN_LIMIT_BYTES = 1024 * 1024;

/** The decoded text and the encoding actually used (a WHATWG name such as "windows-1252"). */
export interface DecodedBody {
  text: string;
  encoding: string;
}

/**
 * Decodes `bytes` with the encoding named by a byte order mark, else `headerCharset` (from
 * Content-Type), else a `<meta>` in the head (see META_PRESCAN_BYTES), else UTF-8. Unknown labels fall back to
 * UTF-8; invalid sequences become U+FFFD, never an exception.
 */
export function decodeBody(bytes: Uint8Array, headerCharset: string | null): DecodedBody {
  // A BOM wins over the header, as in browsers: it is in the bytes themselves, while a
  // server-wide Content-Type is often stale.
  const label = sniffBom(bytes) ?? known(headerCharset) ?? metaCharset(bytes) ?? "utf-8";
  const decoder = new TextDecoder(label);
  return { text: decoder.decode(bytes), encoding: decoder.encoding };
}

/** The encoding a byte order mark names, or null. */
export function sniffBom(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return null;
}

// Tags that keep Chromium's search going past META_PRESCAN_BYTES (html and head only as start
// tags), and elements whose content is text to the tokenizer, not markup, so a "<meta" inside
// a script is not a tag.
const HEAD_TAGS = new Set("script noscript style link meta object title base".split(" "));
const RAW_TEXT = new Set("script style title textarea xmp iframe noembed noframes".split(" "));
const TAG = /<!--[\s\S]*?(?:-->|$)|<(\/?)([a-z][^\s/>]*)[^>]*>?/gi;

/**
 * The charset of the first `<meta charset="…">` or `<meta http-equiv="Content-Type"
 * content="…; charset=…">` that a browser's prescan finds (comments and script contents
 * skipped), if TextDecoder knows it.
 */
export function metaCharset(bytes: Uint8Array): string | null {
  // Latin-1 maps each byte to one character, so ASCII markup reads the same in any
  // ASCII-compatible encoding and nothing can fail to decode.
  const head = new TextDecoder("windows-1252").decode(bytes.subarray(0, META_SCAN_LIMIT_BYTES));
  const tags = new RegExp(TAG.source, TAG.flags);
  let inHead = true;
  for (let match = tags.exec(head); match !== null; match = tags.exec(head)) {
    const [tag, slash, rawName] = match;
    if (rawName !== undefined) {
      const name = rawName.toLowerCase();
      const end = slash === "/";
      const found = !end && name === "meta" ? metaTagCharset(tag) : null;
      if (found !== null) return found;
      if (!end && RAW_TEXT.has(name)) skipRawText(tags, head, name);
      if (!HEAD_TAGS.has(name) && (end || (name !== "html" && name !== "head"))) inHead = false;
    }
    if (!inHead && tags.lastIndex >= META_PRESCAN_BYTES) return null;
  }
  return null;
}

/** Moves `tags` past the end tag of the raw-text element `name` (or to the end). */
function skipRawText(tags: RegExp, text: string, name: string): void {
  const close = new RegExp(`</${name}[\\s/>]`, "gi");
  close.lastIndex = tags.lastIndex;
  const match = close.exec(text);
  tags.lastIndex = match === null ? text.length : match.index;
}

function metaTagCharset(tag: string): string | null {
  const label = /charset\s*=\s*["']?\s*([\w.:+-]+)/i.exec(tag)?.[1];
  const encoding = known(label ?? null);
  if (encoding === null) return null;
  // A page cannot declare itself UTF-16 in ASCII markup; the standard reads that as UTF-8.
  if (encoding === "utf-16le" || encoding === "utf-16be") return "utf-8";
  // x-user-defined maps bytes to private-use characters; the standard reads it as windows-1252.
  return encoding === "x-user-defined" ? "windows-1252" : encoding;
}

/** The WHATWG name for an encoding label, or null if TextDecoder does not support it. */
export function known(label: string | null): string | null {
  if (label === null || label.trim() === "") return null;
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return null;
  }
}

/** The `charset` parameter of a Content-Type header value, or null. */
export function charsetFromContentType(contentType: string | null): string | null {
  if (contentType === null) return null;
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(contentType);
  const value = match?.[1] ?? match?.[2];
  return value === undefined || value === "" ? null : value;
}

/**
 * The type of a body sent without Content-Type: HTML if it opens with markup, plain text if its
 * first 512 bytes hold no binary control bytes (the WHATWG sniffing rule), else null.
 */
export function sniffType(body: Uint8Array): "text/html" | "text/plain" | null {
  const head = body.subarray(0, 512);
  const bom = sniffBom(head);
  // UTF-16 text is full of zero bytes, so the binary check only applies without a BOM.
  if (bom === null && head.some(isBinaryByte)) return null;
  const start = new TextDecoder(bom ?? "utf-8").decode(head);
  return /^\s*<(?:!doctype|!--|\?xml|[a-z])/i.test(start) ? "text/html" : "text/plain";
}

function isBinaryByte(byte: number): boolean {
  return (
    byte <= 0x08 ||
    byte === 0x0b ||
    (byte >= 0x0e && byte <= 0x1a) ||
    (byte >= 0x1c && byte <= 0x1f)
  );
}
