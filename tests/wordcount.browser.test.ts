// Re-measures the edge-case fixtures in real Chromium (headless, Debian's /usr/bin/chromium) and
// checks that Courier reads the same words from each, in the same order. The corpus test
// (wordcount.accuracy.test.ts) uses stored counts; this one keeps the fixtures' expected values
// honest. Skipped, saying why, only when Chromium is not installed.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { decodeBody } from "../lib/tasks/wordcount/decode.ts";
import { extractText } from "../lib/tasks/wordcount/extract.ts";
import { analyseBody } from "../lib/tasks/wordcount/index.ts";
import { CHROMIUM_PATH, openRenderer, type Renderer } from "../scripts/corpus/browser.ts";

const FIXTURES = `${import.meta.dir}/fixtures/wordcount`;
const haveChromium = existsSync(CHROMIUM_PATH);
if (!haveChromium) {
  console.log(
    `wordcount.browser.test.ts skipped: ${CHROMIUM_PATH} is absent (apt-get install -y chromium)`,
  );
}

const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });
const words = (text: string) =>
  [...segmenter.segment(text)].filter((s) => s.isWordLike).map((s) => s.segment);

const encode = (text: string) => new TextEncoder().encode(text);
const WINDOWS_1251_PRIVET_MIR = [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x20, 0xec, 0xe8, 0xf0];
const cyrillic = (markup: string) =>
  new Uint8Array([...encode(markup), ...WINDOWS_1251_PRIVET_MIR]);

let renderer: Renderer;

beforeAll(async () => {
  if (haveChromium) renderer = await openRenderer();
}, 20_000);

afterAll(async () => {
  await renderer?.close();
});

describe.skipIf(!haveChromium)("Chromium reads the same words as Courier", () => {
  const fixtures = readdirSync(FIXTURES).filter((name) => /\.(html|txt)$/.test(name));

  test.each(fixtures)("%s", async (name) => {
    const body = await Bun.file(`${FIXTURES}/${name}`).bytes();
    const type = name.endsWith(".txt") ? "text/plain" : "text/html";
    const browser = await renderer.bodyText(body, `${type}; charset=utf-8`);
    const ours = analyseBody(body, type, "utf-8");
    expect(ours.words).toBe(words(browser).length);
    expect(words(extracted(body, type, "utf-8"))).toEqual(words(browser));
  });

  // Charset declarations found (or not) as Chromium finds them, served without a header charset.
  test.each([
    [
      "<meta charset> after a long head",
      `<title>${"t".repeat(2000)}</title><meta charset=windows-1251>`,
    ],
    ["<meta> after 1024 bytes of whitespace", `${" ".repeat(1100)}<meta charset="windows-1251">`],
    [
      "http-equiv after a long style",
      `<style>${"a{}".repeat(500)}</style><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">`,
    ],
  ])("%s", async (_name, markup) => {
    const body = cyrillic(markup);
    const browser = await renderer.bodyText(body, "text/html");
    expect(words(browser)).toEqual(["Привет", "мир"]);
    expect(words(extracted(body, "text/html", null))).toEqual(["Привет", "мир"]);
  });
});

/** The text Courier reads from `body`, as the task does (see analyseBody). */
function extracted(body: Uint8Array, type: string, charset: string | null): string {
  const { text } = decodeBody(body, charset);
  return type === "text/plain" ? text : extractText(text).text;
}
