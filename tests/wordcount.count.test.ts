import { describe, expect, test } from "bun:test";
import { countWords } from "../lib/tasks/wordcount/count.ts";

describe("countWords", () => {
  test.each([
    ["", 0],
    ["   \n\t ", 0],
    ["hello world", 2],
    ["Hello, world!", 2],
    ["— … !!! ???", 0],
    ["don't stop", 2],
    ["e-mail", 2],
    ["3.14 is pi", 3],
    ["fish\u00a0&\u00a0chips", 2],
    ["我喜欢吃苹果。", 4],
    ["日本語のテキスト", 3],
    ["안녕하세요 세계", 2],
    ["Hello мир 世界 مرحبا", 4],
    ["foobar", 1],
  ])("%j has %d words", (text, words) => {
    expect(countWords(text).words).toBe(words);
  });

  test("a soft hyphen (&shy;) inside a word is no part of it: one word, counted with its plain spelling", () => {
    expect(countWords("Zusammen\u00adarbeit und zusammenarbeit")).toEqual({
      words: 3,
      topWords: [
        { word: "zusammenarbeit", count: 2 },
        { word: "und", count: 1 },
      ],
    });
  });

  test("top words are case-folded and counted", () => {
    expect(countWords("The cat saw the THE dog; the cat").topWords).toEqual([
      { word: "the", count: 4 },
      { word: "cat", count: 2 },
      { word: "dog", count: 1 },
      { word: "saw", count: 1 },
    ]);
  });

  test("ties are broken alphabetically", () => {
    expect(countWords("c b a c b a zeta").topWords).toEqual([
      { word: "a", count: 2 },
      { word: "b", count: 2 },
      { word: "c", count: 2 },
      { word: "zeta", count: 1 },
    ]);
  });

  test("at most ten words are listed", () => {
    const text = "w01 w02 w03 w04 w05 w06 w07 w08 w09 w10 w11 w12 w01";
    const { words, topWords } = countWords(text);
    expect(words).toBe(13);
    expect(topWords).toHaveLength(10);
    expect(topWords[0]).toEqual({ word: "w01", count: 2 });
    expect(topWords.at(-1)).toEqual({ word: "w10", count: 1 });
  });

  test("punctuation is never a top word", () => {
    expect(countWords("... !!! hi").topWords).toEqual([{ word: "hi", count: 1 }]);
  });

  test("the top words are those a full sort would give, on many generated texts", () => {
    // A fixed linear congruential generator: the same texts on every run.
    let seed = 1;
    const next = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    for (let trial = 0; trial < 200; trial += 1) {
      const vocabulary = 1 + (trial % 40);
      const words = Array.from({ length: trial % 120 }, () => {
        return `w${Math.floor(next() ** 2 * vocabulary)}`;
      });
      const counts = new Map<string, number>();
      for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
      const sorted = [...counts]
        .map(([word, count]) => ({ word, count }))
        .sort((a, b) => b.count - a.count || (a.word < b.word ? -1 : 1))
        .slice(0, 10);
      expect(countWords(words.join(" ")).topWords).toEqual(sorted);
    }
  });
});
