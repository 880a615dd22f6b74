import { describe, expect, test } from "bun:test";
import { InvalidUrlError } from "../lib/errors.ts";
import { MAX_URL_CHARS, maskUserinfo, normaliseUrl } from "../lib/tasks/wordcount/url.ts";

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

describe("a refused URL's message never shows its user name or password", () => {
  // Every refusal, not only "it contains a user name or password": a URL refused for its port,
  // scheme, host or length may carry credentials too.
  test.each([
    "http://u:SECRET@h.com",
    "http://:SECRET@h.com",
    "http://SECRET@h.com",
    "SECRET:x@h.com",
    "http:\\\\u:SECRET@h.com",
    "https:u:SECRET@h.com",
    `http://u:SECRET@${"a".repeat(300)}.com`,
    "http://u:SECRET@h.com:99999",
    "http://u:SECRET@[::1",
    `http://u:SECRET@h.com/${"x".repeat(2100)}`,
    "ftp://u:SECRET@h.com",
    "http://u:SECRET@",
    "http://u:SECRET@@h.com",
    "http://u:p@SECRET@h.com",
    "http://u%3ASECRET@h.com",
    "//u:SECRET@h.com",
    "http://u:SECRET@xn--.com",
    "http://u:SECRET@h\u0001.com",
    `http://u:SECRET@${"ü".repeat(2040)}`,
    "http://u:SECRET@h .com",
  ])("%p", (input) => {
    let message = "";
    try {
      normaliseUrl(input);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toStartWith("invalid URL");
    expect(message).not.toContain("SECRET");
  });

  test.each([
    ["ftp://u:SECRET@h.com/a", "ftp://***@h.com/a"],
    ["SECRET:x@h.com", "***@h.com"],
    ["http://u:p@q@h.com:99999", "http://***@h.com:99999"],
    ["http:\\\\u:p@h.com", "http:\\\\***@h.com"],
    // An @ in the path, query or fragment is no credential: kept as it is.
    ["https://h.com:99999/a@b", "https://h.com:99999/a@b"],
    ["https://h.com?x=a@b", "https://h.com?x=a@b"],
    ["https://h.com#a@b", "https://h.com#a@b"],
    ["no at sign", "no at sign"],
  ])("maskUserinfo(%p) is %p", (input, shown) => {
    expect(maskUserinfo(input)).toBe(shown);
  });
});
