// The summary of a batch of word counts, without Redis: the merge of the pages' top words (exact
// while it fits, bounded and never over when it does not), which results count as pages, and
// the fold over a batch's outcomes.
import { describe, expect, test } from "bun:test";
import { TOP_WORDS, type WordFrequency } from "../lib/tasks/wordcount/count.ts";
import { TopWordsMerge } from "../lib/tasks/wordcount/merge.ts";
import {
  createWordCountSummaryTask,
  SUMMARY_FAILURES,
  SummaryBuilder,
  summarise,
  wordCountOf,
} from "../lib/tasks/wordcount/summary.ts";
import { runTask } from "../lib/testing.ts";
import type { ParentOutcome } from "../lib/types.ts";

const w = (word: string, count: number): WordFrequency => ({ word, count });

/** A deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pages of up to TOP_WORDS distinct words drawn from a vocabulary of `vocabulary` words. */
function randomPages(seed: number, pages: number, vocabulary: number): WordFrequency[][] {
  const next = random(seed);
  return Array.from({ length: pages }, () => {
    const words = new Map<string, number>();
    while (words.size < TOP_WORDS) {
      // Skewed: low word numbers are drawn far more often, as in a language.
      const n = Math.floor(vocabulary * next() ** 3);
      words.set(`w${n}`, 1 + Math.floor(next() * 50));
    }
    return [...words].map(([word, count]) => w(word, count));
  });
}

/** Every word's sum over the pages that list it: what an unbounded merge gives. */
function sums(pages: WordFrequency[][]): Map<string, number> {
  const total = new Map<string, number>();
  for (const page of pages)
    for (const e of page) total.set(e.word, (total.get(e.word) ?? 0) + e.count);
  return total;
}

describe("TopWordsMerge", () => {
  test("adds each word's counts over the pages, ranked as a page's list is", () => {
    const merge = new TopWordsMerge();
    merge.add([w("the", 5), w("cat", 2)]);
    merge.add([w("the", 3), w("dog", 2), w("ant", 2)]);
    merge.add([]);
    expect(merge.top(10)).toEqual([w("the", 8), w("ant", 2), w("cat", 2), w("dog", 2)]);
    expect(merge.top(2)).toEqual([w("the", 8), w("ant", 2)]);
    expect(merge.exact).toBe(true);
  });

  test("equals the unbounded merge while the words fit (500 random pages)", () => {
    const pages = randomPages(1, 500, 3_000);
    const merge = new TopWordsMerge(5_000);
    for (const page of pages) merge.add(page);
    const expected = [...sums(pages)]
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
      .slice(0, TOP_WORDS)
      .map(([word, count]) => w(word, count));
    expect(merge.exact).toBe(true);
    expect(merge.top(TOP_WORDS)).toEqual(expected);
  });

  test.each([
    [2, 8],
    [3, 50],
    [4, 200],
  ])(
    "bounded past its capacity (seed %d, capacity %d): never over, short by at most W/(capacity+1)",
    (seed, capacity) => {
      const pages = randomPages(seed, 2_000, 20_000);
      const merge = new TopWordsMerge(capacity);
      let most = 0;
      for (const page of pages) {
        merge.add(page);
        // @ts-expect-error: the private map, to check the memory bound after every page
        most = Math.max(most, merge.counts.size);
      }
      expect(most).toBeLessThanOrEqual(2 * capacity + TOP_WORDS);
      expect(merge.exact).toBe(false);
      const truth = sums(pages);
      const weight = [...truth.values()].reduce((a, b) => a + b, 0);
      const slack = weight / (capacity + 1);
      for (const { word, count } of merge.top(capacity)) {
        expect(count).toBeLessThanOrEqual(truth.get(word)!);
        expect(truth.get(word)! - count).toBeLessThanOrEqual(slack);
      }
      // Any word whose true count exceeds the slack is still there.
      const kept = new Set(merge.top(2 * capacity).map((e) => e.word));
      for (const [word, count] of truth) if (count > slack) expect(kept.has(word)).toBe(true);
    },
  );

  test("exact up to twice its capacity in distinct words, pruned past it", () => {
    const merge = new TopWordsMerge(2);
    merge.add([w("a", 4), w("b", 3), w("c", 2), w("d", 1)]);
    expect(merge.exact).toBe(true);
    expect(merge.top(4)).toEqual([w("a", 4), w("b", 3), w("c", 2), w("d", 1)]);
    merge.add([w("e", 1)]);
    // Five words: the third highest count (2) comes off each; c, d and e are dropped.
    expect(merge.exact).toBe(false);
    expect(merge.top(5)).toEqual([w("a", 2), w("b", 1)]);
  });

  test("a frequent word that comes late is not shut out by early heavy words", () => {
    // Two words heavy on the first page only, then a word on every page beside a one-off word:
    // a merge that only dropped its smallest counts would keep the early words for ever.
    const merge = new TopWordsMerge(2);
    merge.add([w("early", 1_000), w("heavy", 1_000)]);
    for (let i = 0; i < 3_000; i++) merge.add([w("late", 1), w(`once${i}`, 1)]);
    // W = 8,000: a word counted more than W/3 must be kept; "late" has 3,000.
    expect(merge.top(1).map((e) => e.word)).toEqual(["late"]);
  });

  test("refuses a capacity that is no positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => new TopWordsMerge(bad)).toThrow(RangeError);
  });
});

describe("wordCountOf", () => {
  const ok = { words: 12, topWords: [w("a", 3), w("b", 1)], url: "https://example.org/" };
  test.each<[string, boolean, unknown]>([
    ["a word-count result", true, ok],
    ["no words on the page", true, { words: 0, topWords: [] }],
    ["null", false, null],
    ["a string", false, "12 words"],
    ["an array", false, [12]],
    ["words missing", false, { topWords: [] }],
    ["words negative", false, { words: -1, topWords: [] }],
    ["words a fraction", false, { words: 1.5, topWords: [] }],
    ["words a string", false, { words: "12", topWords: [] }],
    ["words past 2^53", false, { words: 2 ** 53, topWords: [] }],
    ["topWords missing", false, { words: 1 }],
    ["topWords an object", false, { words: 1, topWords: { a: 1 } }],
    [
      "too many top words",
      false,
      { words: 1, topWords: Array.from({ length: 101 }, (_, i) => w(`w${i}`, 1)) },
    ],
    ["a top word without a count", false, { words: 1, topWords: [{ word: "a" }] }],
    ["a top word counted 0", false, { words: 1, topWords: [w("a", 0)] }],
    ["an empty word", false, { words: 1, topWords: [w("", 1)] }],
    ["a word listed twice", false, { words: 2, topWords: [w("a", 1), w("a", 1)] }],
    ["a null entry", false, { words: 1, topWords: [null] }],
    ["a word of 1001 characters", false, { words: 1, topWords: [w("x".repeat(1001), 1)] }],
  ])("%s: counted %p", (_, counted, result) => {
    expect(wordCountOf(result) !== null).toBe(counted);
  });
});

const finished = (id: string, words: number, topWords: WordFrequency[]): ParentOutcome => ({
  id,
  status: "finished",
  result: { words, topWords },
  error: null,
});

describe("SummaryBuilder", () => {
  test("adds up the counted pages and lists the others, in batch order", () => {
    const b = new SummaryBuilder();
    b.add(finished("1", 10, [w("the", 4), w("cat", 2)]));
    b.add({ id: "2", status: "failed", result: null, error: "HTTP 404" });
    b.add(finished("3", 5, [w("the", 1), w("dog", 3)]));
    b.add({ id: "4", status: "canceled", error: "canceled" });
    b.add({ id: "5", status: "unknown", result: null, error: null });
    b.add({ id: "6", status: "finished", result: { words: "many" }, error: null });
    expect(b.summary()).toEqual({
      words: 15,
      pages: 6,
      counted: 2,
      failed: 4,
      topWords: [w("the", 5), w("dog", 3), w("cat", 2)],
      topWordsExact: true,
      failures: [
        { id: "2", status: "failed", error: "HTTP 404" },
        { id: "4", status: "canceled", error: "canceled" },
        { id: "5", status: "unknown", error: null },
        { id: "6", status: "finished", error: "its result is not a word count" },
      ],
    });
  });

  test("a job that did not finish is not counted, whatever result it carries", () => {
    const b = new SummaryBuilder();
    b.add({
      id: "1",
      status: "failed",
      result: { words: 9, topWords: [w("x", 9)] },
      error: "boom",
    });
    expect(b.summary()).toMatchObject({ words: 0, counted: 0, failed: 1, topWords: [] });
  });

  test("an empty batch", () => {
    expect(new SummaryBuilder().summary()).toEqual({
      words: 0,
      pages: 0,
      counted: 0,
      failed: 0,
      topWords: [],
      topWordsExact: true,
      failures: [],
    });
  });

  test(`lists the first ${SUMMARY_FAILURES} failures and counts them all`, () => {
    const b = new SummaryBuilder();
    for (let i = 0; i < 25; i++) b.add({ id: `f${i}`, status: "failed", error: `e${i}` });
    const s = b.summary();
    expect(s.failed).toBe(25);
    expect(s.failures.map((f) => f.id)).toEqual(
      Array.from({ length: SUMMARY_FAILURES }, (_, i) => `f${i}`),
    );
  });
});

async function* outcomes(n: number): AsyncIterable<ParentOutcome> {
  for (let i = 0; i < n; i++) yield finished(String(i), i, [w(`w${i % 3}`, 1)]);
}

describe("summarise", () => {
  test("folds an async stream of outcomes, reporting progress every 1,000", async () => {
    const seen: number[] = [];
    const s = await summarise(outcomes(2_500), { onProgress: (n) => seen.push(n) });
    expect(s.pages).toBe(2_500);
    expect(s.words).toBe((2_499 * 2_500) / 2);
    expect(s.topWords).toEqual([w("w0", 834), w("w1", 833), w("w2", 833)]);
    expect(seen).toEqual([1_000, 2_000]);
  });

  test("stops with the abort's reason", async () => {
    const controller = new AbortController();
    controller.abort(new Error("time is up"));
    const run = summarise(outcomes(5_000), { signal: controller.signal });
    await expect(run).rejects.toThrow("time is up");
  });
});

describe("the wordcount-summary task", () => {
  test("adds up the parents runTask gives it, as a worker's callback reads them", async () => {
    const parents = [
      {
        id: "1",
        status: "finished" as const,
        result: { words: 3, topWords: [w("a", 2), w("b", 1)] },
        error: null,
      },
      { id: "2", status: "failed" as const, result: null, error: "HTTP 404" },
      {
        id: "3",
        status: "finished" as const,
        result: { words: 4, topWords: [w("b", 4)] },
        error: null,
      },
    ];
    const run = await runTask(createWordCountSummaryTask(), null, { parents });
    expect(run).toMatchObject({ ok: true });
    expect(run.ok && run.result).toEqual({
      words: 7,
      pages: 3,
      counted: 2,
      failed: 1,
      topWords: [w("b", 5), w("a", 2)],
      topWordsExact: true,
      failures: [{ id: "2", status: "failed", error: "HTTP 404" }],
    });
  });

  test("a job with no parents sums nothing", async () => {
    const run = await runTask(createWordCountSummaryTask(), null);
    expect(run.ok && run.result).toMatchObject({ pages: 0, words: 0, topWords: [] });
  });

  test("reports how many pages it has read, every 1,000", async () => {
    const run = await runTask(createWordCountSummaryTask(), null, { parents: outcomes(2_000) });
    expect(run.progress).toEqual([{ pages: 1_000 }, { pages: 2_000 }]);
  });
});
