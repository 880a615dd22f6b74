// `trigger --file` takes a line's limit key from the URL it parsed to normalise the line
// (wordCountLine), instead of parsing the normalised URL a second time (wordCountLimitKey):
// the two must agree on every URL, and on every refusal. Also the limit key's form check, whose
// plain-ASCII fast path must refuse what the full check refuses.
import { describe, expect, test } from "bun:test";
import { LIMIT_KEY_MAX_BYTES, limitKeyProblem } from "../lib/engine/limits.ts";
import { wordCountLimitKey, wordCountLine } from "../lib/tasks/wordcount/limit-key.ts";
import { normaliseUrl } from "../lib/tasks/wordcount/url.ts";

const problemOf = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
};

describe("wordCountLine: the URL and limit key of one parse, as normaliseUrl and wordCountLimitKey give them", () => {
  test.each([
    "https://example.org/p/1",
    "example.org",
    "HTTP://EXAMPLE.ORG/A?B#C",
    "https://Example.ORG:8080/x",
    "http://example.org:80/",
    "https://example.org:443/",
    "http://example.org:443/",
    "https://example.org:0/",
    "example.org:8080/x",
    "//Example.org/a",
    "https://example.org./",
    "http://bücher.de/straße",
    "https://BÜCHER.de:8443/",
    "https://例え.jp",
    "https://xn--r8jz45g.jp/",
    "https://ß.example/",
    "http://[::1]/",
    "http://[2001:DB8::1]:8080/",
    "http://[::FFFF:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://127.0.0.1:3000/a",
    "https://example.org/a%20b?q=%41#",
    "https://@example.org/", // an empty user name is none
    "https://exa%41mple.org/",
    "localhost:3000",
    "https://a.b.c.d.e.f/",
  ])("%j", (text) => {
    const line = wordCountLine(text);
    expect(line.payload).toEqual({ url: normaliseUrl(text) });
    expect(line.limitKey).toBe(wordCountLimitKey({ url: normaliseUrl(text) })!);
  });

  test.each([
    ["empty", ""],
    ["blank", "   "],
    ["ftp", "ftp://example.org/"],
    ["credentials", "https://user:pw@example.org/"],
    ["a space", "https://exa mple.org/"],
    ["an open IPv6 bracket", "http://[::1/"],
    ["no host", "https://"],
    ["2,100 characters", `https://example.org/${"a".repeat(2100)}`],
  ])("refuses %s as normaliseUrl does", (_, text) => {
    const problem = problemOf(() => normaliseUrl(text));
    expect(problem).not.toBeNull();
    expect(problemOf(() => wordCountLine(text))).toBe(problem);
  });

  test("a host too long to be a limit key refuses its line (one line saying why)", () => {
    const host = `${"a".repeat(LIMIT_KEY_MAX_BYTES)}.org`;
    expect(normaliseUrl(`https://${host}/`)).toBe(`https://${host}/`); // a URL, but no key
    expect(problemOf(() => wordCountLine(`https://${host}/`))).toMatch(
      /^invalid URL "https:\/\/a+\.\.\.": its host cannot be a limit key \(limitKey must be 1 to 256 bytes, got 260\)$/,
    );
    // The longest host that is a key is one.
    const longest = `${"a".repeat(LIMIT_KEY_MAX_BYTES - 4)}.org`;
    expect(wordCountLine(`https://${longest}/`).limitKey).toBe(longest);
  });
});

describe("limitKeyProblem", () => {
  test.each([
    ["example.org", null],
    ["a", null],
    ["a".repeat(LIMIT_KEY_MAX_BYTES), null],
    [" ~", null],
    ["é".repeat(LIMIT_KEY_MAX_BYTES / 2), null], // 256 bytes of UTF-8
    ["a".repeat(LIMIT_KEY_MAX_BYTES + 1), "limitKey must be 1 to 256 bytes, got 257"],
    [`${"é".repeat(LIMIT_KEY_MAX_BYTES / 2)}a`, "limitKey must be 1 to 256 bytes, got 257"],
    ["", "limitKey must be 1 to 256 bytes, got 0"],
    ["a\tb", "limitKey may not hold control characters"],
    ["a\u007f", "limitKey may not hold control characters"],
    ["a\u0085", "limitKey may not hold control characters"],
    [7, "limitKey must be a string, got the number 7"],
  ])("%j: %j", (key, problem) => {
    expect(limitKeyProblem(key)).toBe(problem);
  });
});
