// Input bytes that are not UTF-8: a --file line is refused on its own with its number (the good
// lines are still enqueued), a --payload-file refused naming the line; never read with U+FFFD
// in their place (a URL was enqueued as %EF%BF%BD).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeLines, type Line, NOT_UTF8, streamLines, TOO_LONG } from "../lib/cli/input.ts";
import { openQueue, runCli, testPrefix } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "courier-utf8-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ...parts: (string | number[])[]): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(parts.map((p) => Buffer.from(p as string))));
  return path;
}

async function all(path: string, skip = 0): Promise<Line[]> {
  const out: Line[] = [];
  for await (const group of streamLines(path, skip)) out.push(...group);
  return out;
}

describe("decodeLines", () => {
  test.each([
    ["a\nb", ["a", "b"], []],
    ["é\n€", ["é", "€"], []],
    [[0x61, 0x0a, 0xff, 0x0a, 0x62], ["a", "\uFFFD", "b"], [1]],
    [[0xe2, 0x82, 0x0a, 0xef, 0xbf, 0xbd], ["\uFFFD", "\uFFFD"], [0]], // a cut €, then a real U+FFFD
  ])("%j", (bytes, lines, bad) => {
    const decoded = decodeLines(Buffer.from(bytes as string));
    expect(decoded.lines).toEqual(lines);
    expect([...(decoded.notUtf8 ?? [])]).toEqual(bad);
  });
});

describe("streamLines", () => {
  test("a line not UTF-8 keeps its number, past the first chunk too", async () => {
    const filler = "x.org\n".repeat(20_000); // 120,000 bytes: beyond one 64 KiB chunk
    const path = file(
      "lines.txt",
      "a.org\n",
      [0xff, 0x0a],
      filler,
      "b.org/",
      [0xc3],
      "\n# c",
      [0xe9],
      "\n",
    );
    const lines = await all(path);
    expect(lines).toHaveLength(20_003);
    expect(lines[1]).toEqual({ line: 2, text: "\uFFFD", error: NOT_UTF8 });
    expect(lines.at(-1)).toEqual({ line: 20_003, text: "b.org/\uFFFD", error: NOT_UTF8 });
    expect(lines.filter((l) => l.error)).toHaveLength(2);
    expect((await all(path, 2))[0]).toEqual({ line: 3, text: "x.org" });
  });

  test.each([
    ["65,536 characters: read", "x".repeat(65_536), undefined],
    ["65,537 characters: too long", "x".repeat(65_537), TOO_LONG],
    ["8 MiB with its end in a later read: too long", "x".repeat(8 * 1024 * 1024), TOO_LONG],
    ["90,000 3-byte characters, cut at 256 KiB: too long", "語".repeat(90_000), TOO_LONG],
  ])("a line of %s", async (_, line, error) => {
    const path = file("len.txt", "a.org\n", line, "\nb.org\n");
    const lines = await all(path);
    expect(lines.map((l) => [l.line, l.error])).toEqual([
      [1, undefined],
      [2, error],
      [3, undefined],
    ]);
    // What is kept of the line is bounded, whatever its length.
    expect(lines[1]!.text.length).toBeLessThanOrEqual(65_536);
  });

  test("a very long line of 2-byte characters, cut inside a character, is refused as too long, not as not UTF-8", async () => {
    // One byte first: the cut at 256 KiB falls inside a character.
    const path = file("long.txt", "a", "é".repeat(200_000), "\nok.org\n");
    const lines = await all(path);
    expect(lines[0]!.error).toBe(TOO_LONG);
    expect(lines[0]!.text).toBe(`a${"é".repeat(64 * 1024 - 1)}`);
    expect(lines[1]).toEqual({ line: 2, text: "ok.org" });
  });
});

describe("trigger", () => {
  test("--file: the good lines enqueued, each bad one refused with its number, exit 2", async () => {
    const prefix = testPrefix();
    const path = file("urls.txt", "example.org/a\n", [0xff, 0xfe], ".org\n", "example.org/b\n");
    const r = await runCli("trigger", ["--prefix", prefix, "--file", path, "--json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`trigger: line 2: ${NOT_UTF8}\n`);
    const ids = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).id as string);
    expect(ids).toHaveLength(2);
    await using q = await openQueue({ prefix });
    const urls = await Promise.all(ids.map(async (id) => (await q.getJob(id))?.payload));
    expect(urls).toEqual([{ url: "https://example.org/a" }, { url: "https://example.org/b" }]);
  });

  test("--payload-file: refused naming the line, exit 2, nothing enqueued", async () => {
    const prefix = testPrefix();
    const path = file("payload.json", '{\n  "name": "', [0xe9], '"\n}\n');
    const r = await runCli("trigger", [
      "--prefix",
      prefix,
      "--task",
      "t",
      "--id",
      "p1",
      "--payload-file",
      path,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      `trigger: the payload in ${path} is not UTF-8 text: line 2`,
    );
    await using q = await openQueue({ prefix });
    expect(await q.getJob("p1")).toBeNull();
  });
});
