import { describe, expect, test } from "bun:test";
import { InvalidUrlError } from "../lib/errors.ts";
import { MAX_URL_CHARS, normaliseUrl } from "../lib/tasks/wordcount/url.ts";

describe("normaliseUrl accepts", () => {
  test.each([
    ["www.example.org", "https://www.example.org/"],
    ["example.org/path?q=1", "https://example.org/path?q=1"],
    ["  https://Example.ORG/path?q=1#frag  ", "https://example.org/path?q=1"],
    ["http://example.org/#", "http://example.org/"],
    ["HTTP://EXAMPLE.org", "http://example.org/"],
    ["example.org:8080/x", "https://example.org:8080/x"],
    ["localhost:3000", "https://localhost:3000/"],
    ["//example.org/a", "https://example.org/a"],
    ["https://example.org:443/", "https://example.org/"],
    ["http://bücher.de/straße", "http://xn--bcher-kva.de/stra%C3%9Fe"],
    ["https://例え.jp", "https://xn--r8jz45g.jp/"],
    ["https://example.org/a%20b", "https://example.org/a%20b"],
    // Numeric hosts are canonicalised here; the address guard refuses them at fetch time.
    ["http://2130706433/", "http://127.0.0.1/"],
    ["http://0x7f.1/", "http://127.0.0.1/"],
    ["http://[::FFFF:127.0.0.1]/", "http://[::ffff:7f00:1]/"],
  ])("%j -> %j", (input, expected) => {
    expect(normaliseUrl(input)).toBe(expected);
  });

  test("a URL of exactly 2,048 characters", () => {
    const base = "https://example.org/";
    const url = base + "a".repeat(MAX_URL_CHARS - base.length);
    expect(normaliseUrl(url)).toBe(url);
  });
});

describe("normaliseUrl refuses", () => {
  test.each([
    ["", "it is empty"],
    ["   \n ", "it is empty"],
    ["ftp://example.org/file", 'scheme "ftp" is not allowed (only http and https)'],
    ["javascript:alert(1)", 'scheme "javascript" is not allowed'],
    ["mailto:someone@example.org", 'scheme "mailto" is not allowed'],
    ["file:///etc/passwd", 'scheme "file" is not allowed'],
    ["data:text/html,hi", 'scheme "data" is not allowed'],
    ["https://user:secret@example.org/", "it contains a user name or password"],
    ["https://user@example.org/", "it contains a user name or password"],
    [`https://example.org/${"a".repeat(2100)}`, "it is longer than 2,048 characters (2120)"],
    ["http://", "it cannot be parsed"],
    ["https://[::1/", "it cannot be parsed"],
    ["https://exa%mple.org/", "it cannot be parsed"],
    ["https://exa mple.org/", "it contains a space"],
    ["https://example.org/a b", "it contains a space"],
    ["https://example.org/\tb", "it contains a space"],
  ])("%j: %s", (input, problem) => {
    let caught: unknown;
    try {
      normaliseUrl(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidUrlError);
    const message = (caught as InvalidUrlError).message;
    expect(message).toContain(problem);
    expect(message).toStartWith("invalid URL");
    expect(message).not.toContain("\n");
    expect((caught as InvalidUrlError).code).toBe("EINVALIDURL");
  });

  test("quotes at most 80 characters of a long input", () => {
    expect(() => normaliseUrl(`https://example.org/${"b".repeat(3000)}`)).toThrow(
      /^invalid URL "https:\/\/example\.org\/b{57}\.\.\.": it is longer than/,
    );
  });

  test("masks the credentials it refuses", () => {
    expect(() => normaliseUrl("https://u:hunter2@example.org/x")).toThrow(
      'invalid URL "https://***@example.org/x": it contains a user name or password',
    );
  });
});
