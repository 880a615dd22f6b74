// Normalises the URL a user gives the word-count task, or refuses it with a one-line reason.
// Runs at `trigger` time (through the task's `validate`), so a bad URL never reaches the queue.

import { InvalidUrlError } from "../../errors.ts";

/** Longest URL accepted, in characters. 2,048 is the de facto limit of browsers and CDNs. */
export const MAX_URL_CHARS = 2048;

// A scheme per RFC 3986: a letter, then letters, digits, "+", "-" or ".".
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Returns the canonical `http(s)` form of `input`: trimmed, `https://` added when no scheme is
 * given, fragment dropped, host lower-cased and IDN turned into punycode by WHATWG URL.
 * Throws InvalidUrlError naming the problem.
 */
export function normaliseUrl(input: string): string {
  return normalisedUrl(input).href;
}

/** A normalised URL and its host. */
export interface NormalisedUrl {
  /** The normalised text (normaliseUrl's). */
  href: string;
  /**
   * Its host and port, as wordCountLimitKey reads them back from `href` (lower-cased, IDN as
   * punycode): a caller that needs both parses a line once (`trigger --file`, limit-key.ts).
   */
  host: string;
}

/** normaliseUrl, with the host of the URL it parsed. */
export function normalisedUrl(input: string): NormalisedUrl {
  const trimmed = input.trim();
  if (trimmed === "") throw refuse(input, "it is empty");
  if (trimmed.length > MAX_URL_CHARS) {
    throw refuse(trimmed, `it is longer than 2,048 characters (${trimmed.length})`);
  }
  // WHATWG URL would silently strip tabs and newlines and percent-encode spaces; a URL with
  // whitespace inside is more likely two things pasted together, so it is refused instead.
  if (/\s/.test(trimmed)) throw refuse(trimmed, "it contains a space");

  const url = parse(withScheme(trimmed), trimmed);
  const common = commonUrl(url, trimmed);
  if (common) return common;
  const { protocol } = url;
  if (protocol !== "http:" && protocol !== "https:") {
    throw refuse(trimmed, `scheme "${protocol.slice(0, -1)}" is not allowed (only http and https)`);
  }
  // Credentials would end up in job records and logs, which are not secret; the message
  // quotes the URL with them masked for the same reason. Only an "@" makes them (and only a
  // "#" a fragment): a URL without one skips the look (this runs for every line of a file).
  if (trimmed.includes("@") && (url.username !== "" || url.password !== "")) {
    url.username = "***";
    url.password = "";
    throw refuse(url.href, "it contains a user name or password");
  }
  const { host } = url;
  if (host === "") throw refuse(trimmed, "it has no host");
  if (trimmed.includes("#")) url.hash = "";
  const { href } = url;
  // Punycode can make the host longer than the input was.
  if (href.length > MAX_URL_CHARS) {
    throw refuse(trimmed, `it is longer than 2,048 characters once normalised (${href.length})`);
  }
  return { href, host };
}

/**
 * The common line (http or https, no `@`, no `#`, not too long) read from `href` alone: its host
 * is what lies between `//` and the path's `/` (an http(s) URL always has a path, and only an
 * `@` makes a user name). One getter, not three: this runs for every line of a file. Anything
 * else is left to the checks above (undefined), which give every refusal.
 */
function commonUrl(url: URL, trimmed: string): NormalisedUrl | undefined {
  if (trimmed.includes("@") || trimmed.includes("#")) return undefined;
  const { href } = url;
  const start = href.startsWith("https://") ? 8 : href.startsWith("http://") ? 7 : 0;
  const end = href.indexOf("/", start);
  if (start === 0 || end <= start || href.length > MAX_URL_CHARS) return undefined;
  return { href, host: href.slice(start, end) };
}

/** Adds `https://` unless the input already starts with a scheme. */
function withScheme(input: string): string {
  if (input.startsWith("https://") || input.startsWith("http://")) return input; // most lines
  if (input.startsWith("//")) return `https:${input}`;
  const match = SCHEME.exec(input);
  if (match === null) return `https://${input}`;
  const rest = input.slice(match[0].length);
  // `example.org:8080/x` looks like scheme `example.org:`, but a digit after the colon is a port.
  if (!rest.startsWith("//") && /^\d/.test(rest)) return `https://${input}`;
  return input;
}

function parse(candidate: string, original: string): URL {
  try {
    return new URL(candidate);
  } catch (cause) {
    throw refuse(original, "it cannot be parsed (no valid host)", cause);
  }
}

/** InvalidUrlError for `input`: `invalid URL "<at most 80 characters>": <problem>`. */
export function refuse(input: string, problem: string, cause?: unknown): InvalidUrlError {
  // Quote at most 80 characters so a 2 MB "URL" does not end up in a log line, and escape
  // control characters so the message stays on one line. A user name or password is masked
  // whatever the problem is: a refused URL is as likely as any to carry one.
  const masked = maskUserinfo(input);
  const shown = masked.length > 80 ? `${masked.slice(0, 77)}...` : masked;
  const quoted = input.trim() === "" ? "" : ` ${JSON.stringify(shown)}`;
  return new InvalidUrlError(`invalid URL${quoted}: ${problem}`, { cause });
}

/** A scheme and the slashes after it (`https://`, or backslashes), or slashes alone (`//`). */
const AUTHORITY_START = /^(?:[a-z][a-z0-9+.-]*:)?[/\\]+/i;

/**
 * `input` with what may be a user name or password replaced by `***`: everything before the
 * last `@` of the part that would be the host (up to the first slash, backslash, `?` or `#`
 * after the scheme's slashes). Said loosely on purpose: text that cannot be parsed may still hold a secret
 * (`user:password@host` without a scheme reads as scheme `user:`), so it is masked too.
 */
export function maskUserinfo(input: string): string {
  if (!input.includes("@")) return input;
  const start = AUTHORITY_START.exec(input)?.[0].length ?? 0;
  let end = input.length;
  for (const c of ["/", "\\", "?", "#"]) {
    const at = input.indexOf(c, start);
    if (at !== -1 && at < end) end = at;
  }
  const at = input.lastIndexOf("@", end - 1);
  return at < start ? input : `${input.slice(0, start)}***${input.slice(at)}`;
}
