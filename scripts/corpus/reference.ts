#!/usr/bin/env bun
// Measures every corpus page in Chromium and writes what the accuracy test compares against:
//   bench/corpus/reference.json          words per page, and how they were measured
//   bench/corpus/reference-text.json.gz  the rendered text itself, to explain a difference
// Run after changing the corpus (`bun scripts/corpus/collect.ts`):
//   bun scripts/corpus/reference.ts
// Words are counted by Bun's Intl.Segmenter (lib's countWords), not Chromium's: ICU versions
// split some words differently (`a.b`), and the comparison is meant to measure text extraction.

import { readdir } from "node:fs/promises";
import { countWords } from "../../lib/tasks/wordcount/count.ts";
import { openRenderer } from "./browser.ts";

const CORPUS = `${import.meta.dir}/../../bench/corpus`;

/** The shape of reference.json. */
export interface Reference {
  chromium: string;
  bun: string;
  /** How each page was served and read, in one sentence. */
  method: string;
  pages: Record<string, { bytes: number; words: number }>;
}

const ids = (await readdir(`${CORPUS}/pages`))
  .filter((name) => name.endsWith(".html"))
  .map((name) => name.slice(0, -".html".length))
  .sort();
const renderer = await openRenderer();
const reference: Reference = {
  chromium: renderer.version,
  bun: Bun.version,
  method:
    "served from 127.0.0.1 as text/html without a charset, every other request blocked; " +
    "document.body.innerText after load, counted with Bun's Intl.Segmenter (word-like segments)",
  pages: {},
};
const texts: Record<string, string> = {};
try {
  for (const id of ids) {
    const body = await Bun.file(`${CORPUS}/pages/${id}.html`).bytes();
    const text = await renderer.bodyText(body);
    texts[id] = text;
    reference.pages[id] = { bytes: body.byteLength, words: countWords(text).words };
    console.log(`${id}\t${reference.pages[id]?.words}`);
  }
} finally {
  await renderer.close();
}
await Bun.write(`${CORPUS}/reference.json`, `${JSON.stringify(reference, null, 1)}\n`);
await Bun.write(`${CORPUS}/reference-text.json.gz`, Bun.gzipSync(JSON.stringify(texts)));
console.log(`measured ${ids.length} pages in Chromium ${renderer.version}`);
