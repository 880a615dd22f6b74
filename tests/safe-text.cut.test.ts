// Every cut of shown text (an error line's quote: shownInput, shownId; a table's cell: table)
// is one function, cutText, and it never cuts inside a character: half a surrogate pair printed
// as U+FFFD (or broke the output's UTF-8), and a base letter kept without its accent read as
// another letter. Pure logic, by a table.
import { describe, expect, test } from "bun:test";
import { formatDeadPage, unreadableLeftLine } from "../lib/cli/dead.ts";
import { eventLine } from "../lib/cli/events.ts";
import { jobProgressLine } from "../lib/cli/progress.ts";
import { formatJobsPage } from "../lib/cli/queue.ts";
import { table } from "../lib/cli/table.ts";
import { existedLine } from "../lib/cli/trigger-existing.ts";
import { shardCountProblem } from "../lib/engine/keys.ts";
import type { QueueEvent } from "../lib/queue/event-read.ts";
import { cutText, ID_SHOWN_MAX, SHOWN_MAX, shownInput } from "../lib/safe-text.ts";

/** A lone surrogate: half a character, which no output can encode. */
const LONE = /[\ud800-\udfff]/u;

const y = (n: number) => "y".repeat(n);

describe("cutText", () => {
  // biome-ignore format: a table
  const cuts: [string, string, number, string][] = [
    ["short text is whole", "abc", 5, "abc"],
    ["text of max exactly is whole", y(5), 5, y(5)],
    ["plain text is cut at max", y(8), 5, `${y(5)}…`],
    ["an emoji astride the cut goes whole", `${y(4)}😀😀`, 5, `${y(4)}…`],
    ["an emoji ending at the cut stays", `${y(3)}😀😀`, 5, `${y(3)}😀…`],
    ["a letter whose accent is past the cut goes with it", `${y(4)}e\u0301x`, 5, `${y(4)}…`],
    ["an accented letter ending at the cut stays", `${y(3)}e\u0301x`, 5, `${y(3)}e\u0301…`],
    ["a joined emoji astride the cut goes whole", `${y(2)}👩\u200d💻x`, 5, `${y(2)}…`],
    ["one character longer than max is cut between code points", `e${"\u0301".repeat(300)}`, 5, `e${"\u0301".repeat(4)}…`],
    ["such a character's surrogate pairs are never split", `😀${"\u{1f3fb}".repeat(300)}`, 5, "😀\u{1f3fb}…"],
  ];
  for (const [what, text, max, cut] of cuts) {
    test(what, () => {
      expect(cutText(text, max)).toBe(cut);
      expect(cutText(text, max)).not.toMatch(LONE);
    });
  }

  test("every cut of text made of emoji is whole characters (shownInput, a table's cell)", () => {
    for (let pad = 0; pad < 4; pad++) {
      const text = y(pad) + "😀".repeat(400);
      expect(shownInput(text)).not.toMatch(LONE);
      expect(shownInput(text).length).toBeLessThanOrEqual(SHOWN_MAX + 1);
      const [row] = table([[text, "z"]]);
      expect(row).not.toMatch(LONE);
      expect(row!.length).toBeLessThanOrEqual(ID_SHOWN_MAX + 4);
    }
  });

  test("a 1 MB text is cut without reading all of it", () => {
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) cutText("😀".repeat(500_000), SHOWN_MAX);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

test("dead list's error column is cut between characters, as every other cut", () => {
  for (let pad = 97; pad < 101; pad++) {
    const letter = {
      entryId: "1-0",
      id: "j1",
      task: "t",
      error: y(pad) + "😀".repeat(10),
      attempts: 1,
      payload: null,
      deadAt: 0,
    };
    const text = formatDeadPage({ total: 1, letters: [letter], next: null }, 1_000);
    expect(text).not.toMatch(LONE);
    expect(text).not.toContain("\\ud83d"); // half an emoji, escaped
    expect(text).toContain("…");
  }
});

test("COURIER_SHARDS quoted in its error is cut between characters", () => {
  const problem = shardCountProblem(`${"1".repeat(19)}😀😀`);
  expect(problem).not.toMatch(LONE);
  expect(problem).toContain(`got "${"1".repeat(19)}…"`);
});

test("a waited-for job's progress line is cut between characters, and stays 80 wide", () => {
  for (let pad = 60; pad < 72; pad++) {
    const written: string[] = [];
    const line = jobProgressLine({ isTTY: true, write: (s: string) => written.push(s) });
    line.show({ m: y(pad) + "😀".repeat(20) });
    const [drawn] = written;
    expect(drawn).not.toMatch(LONE);
    expect(drawn!.replace(/^\r/, "").replace(/\x1b\[K$/, "").length).toBeLessThanOrEqual(80);
  }
});

test("queue events' text line is bounded whatever an event written by hand holds", () => {
  const huge = "E".repeat(1_000_000);
  const at = Date.UTC(2026, 0, 1);
  const failed = { type: huge, id: huge, at, shard: 0, cursor: "v1:x:1-0", error: huge };
  const line = eventLine(failed as unknown as QueueEvent, 1);
  expect(line.length).toBeLessThan(3_000);
  expect(line).toContain(`${"E".repeat(ID_SHOWN_MAX)}…`);
  expect(line).toEndWith("  cursor=v1:x:1-0");
  const progress = { type: "progress", id: "j1", at, shard: 0, cursor: "c", value: { m: huge } };
  expect(eventLine(progress as unknown as QueueEvent, 1).length).toBeLessThan(3_000);
  // What a worker writes (an error of ERROR_MAX_BYTES) is shown whole.
  const real = { type: "failed", id: "j1", at, shard: 0, cursor: "c", error: "e".repeat(1_000) };
  expect(eventLine(real as unknown as QueueEvent, 1)).toContain("e".repeat(1_000));
});

test("dead requeue --all names its first unreadable letter's id cut, as any id (a 1 MB one)", () => {
  const id = "I".repeat(1_000_000);
  const first = { id, reason: "courier: dead letter 1-0 names no job" };
  const line = unreadableLeftLine({ requeued: 0, unreadable: 1, first })!;
  expect(line.length).toBeLessThan(1_000);
  expect(line).toContain(`the first, ${"I".repeat(ID_SHOWN_MAX)}…: courier: dead letter`);
});

test("trigger of an id that exists quotes the stored job's task cut, as any name (a 1 MB one)", () => {
  const line = existedLine("j1", { status: "queued", task: "T".repeat(1_000_000) });
  expect(line.length).toBeLessThan(1_000);
  expect(line).toContain(`(queued, task ${"T".repeat(ID_SHOWN_MAX)}…)`);
});

test("queue jobs --state running cuts a worker name written by hand in its last column", () => {
  const worker = "C".repeat(1_000_000);
  const row = { id: "run1", task: "ok", at: 0, attempt: 1, worker };
  const text = formatJobsPage({ state: "running", jobs: [row], next: null });
  expect(text.length).toBeLessThan(1_000);
  expect(text).toContain(`${"C".repeat(ID_SHOWN_MAX)}…`);
});
