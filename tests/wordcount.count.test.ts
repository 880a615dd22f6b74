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
});
