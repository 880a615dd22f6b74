// normalisedUrl reads the common line (http or https, no `@` or `#`) from its href alone, the
// host cut out of it rather than asked of the URL (`trigger --file` runs it for every line).
// Compared with the reading it replaced, the URL's own getters (kept here as the reference), on
// hostile lines and on random ones: the same href and host, or the same refusal.
import { describe, expect, test } from "bun:test";
import { MAX_URL_CHARS, normalisedUrl, refuse } from "../lib/tasks/wordcount/url.ts";

/** normalisedUrl before the common line's shortcut: every field from the URL's getters. */
function reference(input: string): { href: string; host: string } {
  const trimmed = input.trim();
  if (trimmed === "") throw refuse(input, "it is empty");
  if (trimmed.length > MAX_URL_CHARS) {
    throw refuse(trimmed, `it is longer than 2,048 characters (${trimmed.length})`);
  }
  if (/\s/.test(trimmed)) throw refuse(trimmed, "it contains a space");
  let url: URL;
  try {
    url = new URL(withScheme(trimmed));
  } catch (cause) {
    throw refuse(trimmed, "it cannot be parsed (no valid host)", cause);
  }
  const { protocol } = url;
  if (protocol !== "http:" && protocol !== "https:") {
    throw refuse(trimmed, `scheme "${protocol.slice(0, -1)}" is not allowed (only http and https)`);
  }
  if (url.username !== "" || url.password !== "") {
    url.username = "***";
    url.password = "";
    throw refuse(url.href, "it contains a user name or password");
  }
  const { host } = url;
  if (host === "") throw refuse(trimmed, "it has no host");
  url.hash = "";
  const { href } = url;
  if (href.length > MAX_URL_CHARS) {
    throw refuse(trimmed, `it is longer than 2,048 characters once normalised (${href.length})`);
  }
  return { href, host };
}

function withScheme(input: string): string {
  if (input.startsWith("//")) return `https:${input}`;
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(input);
  if (match === null) return `https://${input}`;
  const rest = input.slice(match[0].length);
  if (!rest.startsWith("//") && /^\d/.test(rest)) return `https://${input}`;
  return input;
}

const outcome = (f: () => unknown) => {
  try {
    return { ok: f() };
  } catch (err) {
    return { refused: (err as Error).message };
  }
};

const HOSTILE = [
  "https://example.org/p/1\r",
  "https://example.org/p/1\r\n",
  "",
  " \t ",
  "\uFEFFhttps://example.org/",
  "https://example.org/\u0000",
  "https://exa\u0007mple.org/",
  "\u001b[31mhttps://example.org/",
  "https://example.org/\u0085",
  "https://example.org/\u00a0x",
  `https://example.org/${"a".repeat(2100)}`,
  `https://example.org/${"a".repeat(2020)}`, // fits, and once normalised
  `https://${"ü".repeat(60)}.example/${"a".repeat(1900)}`, // punycode past 2,048
  `https://example.org/${"ü".repeat(1000)}`, // percent-encoded past 2,048
  `https://example.org/${"<".repeat(700)}`,
  `https://${"a".repeat(300)}.example/`,
  "https://",
  "http://",
  "https:///x",
  "https://exa mple.org/",
  "https://example.org",
  "https://example.org?x=1",
  "https://example.org:443",
  "http://example.org:80?x",
  "https://example.org:99999/",
  "https:\\\\example.org\\a\\b",
  "https:/example.org/a",
  "https:example.org/a",
  "HTTPS://EXAMPLE.ORG/A/../B/./C",
  "http://[::1]:8080",
  "http://[::1",
  "http://0x7f.1",
  "http://%65xample.org/",
  "https://exa%2Fmple.org/",
  "https://example.org/a%40b",
  "https://a@b.org/",
  "https://@b.org/",
  "https://b.org/#frag",
  "https://b.org/?q=#",
  "ftp://example.org/",
  "javascript:alert(1)",
  "mailto:a@b.org",
  "file:///etc/passwd",
  "example.org:8080",
  "localhost",
  "//example.org/x",
  "///example.org/x",
  "https://例え.jp/パス",
  "https://xn--/",
  "https://exa\u200bmple.org/",
];

/** Random lines from pieces that steer URL parsing, seeded: the same run every time. */
function randomLines(n: number, seed = 7): string[] {
  const pieces = [
    "https://",
    "http://",
    "//",
    "HTTP://",
    "a",
    "B",
    ".",
    "-",
    ":",
    "80",
    "443",
    "/",
    "\\",
    "?",
    "#",
    "@",
    "%",
    "%41",
    "[",
    "]",
    "::1",
    "ü",
    "例",
    "\u0000",
    "\u0085",
    "\u200b",
    " ",
    "\t",
    "\r",
    "xn--",
    "..",
    "0x7f",
    "1",
  ];
  let s = seed;
  const rand = (k: number) => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s % k;
  };
  return Array.from({ length: n }, () => {
    const parts = Array.from({ length: 1 + rand(10) }, () => pieces[rand(pieces.length)]!);
    return (rand(3) === 0 ? "" : "https://") + parts.join("");
  });
}

describe("normalisedUrl's common line, against the URL's getters", () => {
  test.each(HOSTILE)("%j", (line) => {
    expect(outcome(() => normalisedUrl(line))).toEqual(outcome(() => reference(line)));
  });

  test("20,000 random lines: the same href and host, or the same refusal", () => {
    let accepted = 0;
    for (const line of randomLines(20_000)) {
      const got = outcome(() => normalisedUrl(line));
      expect({ line, ...got }).toEqual({ line, ...outcome(() => reference(line)) });
      if ("ok" in got) accepted++;
    }
    expect(accepted).toBeGreaterThan(2_000); // the shortcut was taken, not only refusals
  });
});
