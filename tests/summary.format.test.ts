// How `trigger --summary --wait` prints a summary: totals, top words, the pages not counted;
// words and errors from outside with their control characters escaped.
import { describe, expect, test } from "bun:test";
import { formatSummary, isSummary } from "../lib/cli/summary-format.ts";
import type { WordCountSummary } from "../lib/tasks/wordcount/summary.ts";

const base: WordCountSummary = {
  words: 1234,
  pages: 3,
  counted: 3,
  failed: 0,
  topWords: [
    { word: "the", count: 80 },
    { word: "cat", count: 12 },
  ],
  topWordsExact: true,
  failures: [],
};

describe("formatSummary", () => {
  test("a batch with every page counted", () => {
    expect(formatSummary(base)).toBe(
      [
        "pages:      3 (3 counted, 0 failed)",
        "words:      1234",
        "top words:  the (80), cat (12)",
      ].join("\n"),
    );
  });

  test("pages not counted, more than listed, an inexact merge, no words", () => {
    const s: WordCountSummary = {
      ...base,
      words: 0,
      pages: 14,
      counted: 0,
      failed: 14,
      topWords: [],
      topWordsExact: false,
      failures: [
        { id: "1-0", status: "failed", error: "HTTP 404 Not Found" },
        { id: "2-0", status: "unknown", error: null },
      ],
    };
    expect(formatSummary(s)).toBe(
      [
        "pages:      14 (0 counted, 14 failed)",
        "words:      0",
        "top words:  none",
        "            (approximate: too many distinct words to merge exactly)",
        "not counted:",
        "  1-0  failed: HTTP 404 Not Found",
        "  2-0  unknown",
        "  … and 12 more",
      ].join("\n"),
    );
  });

  test("control characters from pages and servers are escaped", () => {
    const s: WordCountSummary = {
      ...base,
      failed: 1,
      topWords: [{ word: "a\u001b[2Jb", count: 1 }],
      failures: [{ id: "1-0", status: "failed", error: "bad\u009bthing\u202e" }],
    };
    const text = formatSummary(s);
    expect(text).toContain("a\\x1b[2Jb (1)");
    expect(text).toContain("bad\\x9bthing\\u202e");
    expect(text).not.toMatch(/[\u001b\u009b\u202e]/);
  });
});

describe("isSummary", () => {
  test.each<[string, unknown, boolean]>([
    ["a summary", base, true],
    ["null", null, false],
    ["a word count", { words: 3, topWords: [], url: "https://example.org/" }, false],
    ["pages as a string", { ...base, pages: "3" }, false],
    ["failures missing", { ...base, failures: undefined }, false],
  ])("%s: %p", (_, value, expected) => {
    expect(isSummary(value)).toBe(expected);
  });
});
