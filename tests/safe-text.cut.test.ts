// Every cut of shown text (an error line's quote: shownInput, shownId; a table's cell: table)
// is one function, cutText, and it never cuts inside a character: half a surrogate pair printed
// as U+FFFD (or broke the output's UTF-8), and a base letter kept without its accent read as
// another letter. Pure logic, by a table.
import { describe, expect, test } from "bun:test";
import { table } from "../lib/cli/table.ts";
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
