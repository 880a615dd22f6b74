#!/usr/bin/env bun
// Text-extraction benchmark over the corpus in bench/corpus/ (83 real pages, 3.3 MB): how fast
// Courier turns HTML into a word count (decode, parse, walk the rendered text, count ICU
// words and the top words), side by side in the same run with the naive baseline: linkedom's
// `textContent` split on whitespace, which counts script, style and hidden text as words.
//   bun bench/extract.ts [--rounds N]
// stdout: one JSON object per figure {name, contender, median, min, max, unit, rounds};
// stderr: the same as a table, the ratio, and where the time goes.

import { readdir } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parseHTML } from "linkedom";
import { countWords } from "../lib/tasks/wordcount/count.ts";
import { decodeBody } from "../lib/tasks/wordcount/decode.ts";
import { extractFromDocument } from "../lib/tasks/wordcount/extract.ts";
import type { Reference } from "../scripts/corpus/reference.ts";

const CORPUS = `${import.meta.dir}/corpus`;
const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "7" } } });
const ROUNDS = Number(args.rounds);

type Contender = "courier" | "naive";
type Phase = "decode" | "parse" | "extract" | "count";
const PHASES: readonly Phase[] = ["decode", "parse", "extract", "count"];

interface Page {
  id: string;
  body: Uint8Array;
}

/** Milliseconds per phase for one pass over the corpus, and the word count of each page. */
interface Pass {
  ms: Record<Phase, number>;
  words: Map<string, number>;
}

/** Both contenders, as pure functions of the decoded page, so they are timed the same way. */
const EXTRACT: Record<Contender, (document: Document) => string> = {
  courier: (document) => extractFromDocument(document).text,
  naive: (document) => document.documentElement?.textContent ?? "",
};
const COUNT: Record<Contender, (text: string) => number> = {
  courier: (text) => countWords(text).words,
  naive: (text) => text.split(/\s+/).filter((word) => word !== "").length,
};

function pass(pages: readonly Page[], contender: Contender): Pass {
  const ms: Record<Phase, number> = { decode: 0, parse: 0, extract: 0, count: 0 };
  const words = new Map<string, number>();
  for (const page of pages) {
    let t = performance.now();
    const lap = (phase: Phase) => {
      const now = performance.now();
      ms[phase] += now - t;
      t = now;
    };
    // Both decode the same way (charset sniffing): it is not what differs between them.
    const html = decodeBody(page.body, null).text;
    lap("decode");
    const { document } = parseHTML(html);
    lap("parse");
    const text = EXTRACT[contender](document);
    lap("extract");
    words.set(page.id, COUNT[contender](text));
    lap("count");
  }
  return { ms, words };
}

interface Figure {
  name: string;
  contender: string;
  median: number;
  min: number;
  max: number;
  unit: string;
  rounds: number;
}

function figure(name: string, contender: string, unit: string, values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    name,
    contender,
    median: round(median),
    min: round(sorted[0] ?? 0),
    max: round(sorted.at(-1) ?? 0),
    unit,
    rounds: values.length,
  };
}

function total(p: Pass): number {
  return PHASES.reduce((sum, phase) => sum + p.ms[phase], 0);
}

function figuresOf(contender: Contender): Figure[] {
  const runs = passes[contender];
  const speed = runs.map((p) => megabytes / (total(p) / 1000));
  const out = [figure("extract.throughput", contender, "MB/s", speed)];
  for (const phase of PHASES) {
    out.push(
      figure(
        `extract.${phase}`,
        contender,
        "ms",
        runs.map((p) => p.ms[phase]),
      ),
    );
  }
  const errors = accuracy(runs[0]?.words ?? new Map());
  out.push(figure("extract.median_error", contender, "%", [errors.median * 100]));
  out.push(figure("extract.pages_within_2pct", contender, "%", [errors.within2 * 100]));
  return out;
}

/** Courier's time over the naive one's, round by round (same round, same machine state). */
function ratioFigure(): Figure {
  const ratios = passes.courier.map((p, i) => total(p) / total(passes.naive[i] ?? p));
  return figure("extract.time_ratio", "courier/naive", "x", ratios);
}

function accuracy(words: ReadonlyMap<string, number>): { median: number; within2: number } {
  const errors = [...words].map(([id, count]) => {
    const expected = reference.pages[id]?.words ?? 0;
    return Math.abs(count - expected) / Math.max(expected, 1);
  });
  errors.sort((a, b) => a - b);
  const within2 = errors.filter((e) => e <= 0.02).length / errors.length;
  return { median: errors[Math.floor(errors.length / 2)] ?? 0, within2 };
}

function printTable(): void {
  const get = (name: string, contender: string) =>
    figures.find((f) => f.name === name && f.contender === contender)?.median ?? 0;
  const lines = [
    `\n${pages.length} pages, ${megabytes.toFixed(2)} MB, ${ROUNDS} rounds, Bun ${Bun.version}`,
    "contender  MB/s   decode  parse  extract  count (ms, median)  median error  within 2%",
  ];
  for (const c of ["courier", "naive"] as const) {
    const cells = PHASES.map((p) => get(`extract.${p}`, c).toFixed(0).padStart(6));
    lines.push(
      `${c.padEnd(9)} ${get("extract.throughput", c).toFixed(2).padStart(5)} ${cells.join(" ")}` +
        `${get("extract.median_error", c).toFixed(2).padStart(20)}%` +
        `${get("extract.pages_within_2pct", c).toFixed(0).padStart(10)}%`,
    );
  }
  lines.push(`time ratio courier/naive: ${get("extract.time_ratio", "courier/naive")}x`);
  process.stderr.write(`${lines.join("\n")}\n`);
}

const ids = (await readdir(`${CORPUS}/pages`)).filter((n) => n.endsWith(".html")).sort();
const pages: Page[] = await Promise.all(
  ids.map(async (name) => ({
    id: name.slice(0, -".html".length),
    body: await Bun.file(`${CORPUS}/pages/${name}`).bytes(),
  })),
);
const megabytes = pages.reduce((sum, page) => sum + page.body.byteLength, 0) / 1e6;

// One unrecorded pass each warms the JIT and ICU's break-iterator data.
pass(pages, "courier");
pass(pages, "naive");
const passes: Record<Contender, Pass[]> = { courier: [], naive: [] };
for (let round = 0; round < ROUNDS; round += 1) {
  // Alternating the order spreads GC pauses and frequency changes over both.
  const order: Contender[] = round % 2 === 0 ? ["courier", "naive"] : ["naive", "courier"];
  for (const contender of order) passes[contender].push(pass(pages, contender));
}

const reference = (await Bun.file(`${CORPUS}/reference.json`).json()) as Reference;
const figures = [
  ...(["courier", "naive"] as const).flatMap((contender) => figuresOf(contender)),
  ratioFigure(),
];
for (const figure of figures) console.log(JSON.stringify(figure));
printTable();
