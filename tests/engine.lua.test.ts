// The Lua loader (lib/engine/lua.ts, lua-includes.ts): `--- @include <name>` pastes the helper
// lib/engine/lua/include/<name>.lua in once, a bad include fails at load, and an error reply is
// pointed at the file and line it came from (not at the line of the expanded text Redis saw).
import { describe, expect, test } from "bun:test";
import { runScript, script, scripts } from "../lib/engine/lua.ts";
import { expandIncludes, includes } from "../lib/engine/lua-includes.ts";
import { openQueue, testPrefix } from "./helpers.ts";

/** The 1-based line of `file`'s text (an include's, by name) that holds `text`. */
function lineOf(source: string, text: string): number {
  const i = source.split("\n").findIndex((l) => l.includes(text));
  expect(i).toBeGreaterThanOrEqual(0);
  return i + 1;
}

describe("includes", () => {
  test("every script expands: each include it names is pasted in, in its place", () => {
    for (const s of Object.values(scripts)) {
      const named = [...s.source.matchAll(/^--- @include (\S+)$/gm)].map((m) => m[1]!);
      for (const name of new Set(named)) {
        const from = s.lines.filter((l) => l.file === `include/${name}.lua`);
        expect(from.length, `${s.name} includes ${name}`).toBe(
          includes[name]!.trimEnd().split("\n").length,
        );
      }
      expect(s.source.split("\n").length).toBe(s.lines.length);
    }
    expect(scripts.finish.source).toContain("local function ack_and_trim(");
  });

  test("every helper is included by some script", () => {
    const all = Object.values(scripts);
    const used = new Set(all.flatMap((s) => s.lines.map((l) => l.file)));
    for (const name of Object.keys(includes)) expect(used).toContain(`include/${name}.lua`);
  });

  test("each helper once, even when named again or by another helper", async () => {
    const helpers = { a: "--- @include b\nlocal A = B + 1\n", b: "local B = 2\n" };
    const source = "--- @include a\n--- @include b\nreturn A + B";
    const { text, lines } = expandIncludes("t.lua", source, helpers);
    expect(text.split("local B = 2").length - 1).toBe(1);
    expect(text.split("local A = B + 1").length - 1).toBe(1);
    // And in dependency order: Redis runs it (a local used before its line would be nil).
    await using q = await openQueue({ prefix: testPrefix() });
    const sha = new Bun.CryptoHasher("sha1").update(text).digest("hex");
    const s = { name: "t", source: text, sha, numKeys: 0, lines };
    expect(await runScript(q.client, s, [], [])).toBe(5);
  });

  test("an unknown include or a cycle fails at load, naming the file and line", () => {
    expect(() => script("x", "-- x\n--- @include nope\nreturn 1", 0)).toThrow(
      'x.lua:2: no include "nope" (lib/engine/lua/include/nope.lua)',
    );
    const cycle = { a: "--- @include b\n", b: "--- @include a\n" };
    expect(() => expandIncludes("y.lua", "--- @include a", cycle)).toThrow(
      "include/b.lua:1: include cycle a -> b -> a",
    );
  });
});

describe("error replies point at the source line", () => {
  const boom = "-- A test script.\n--- @include wrongtype\n--- @include entries\n";

  test("a Lua error raised in the script itself", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const s = script("boom", `${boom}local x = 1\nerror('boom ' .. x)\n`, 0);
    // Twice: the first call goes through EVAL (NOSCRIPT), the second through EVALSHA.
    for (let i = 0; i < 2; i++) {
      const err = (await runScript(q.client, s, [], []).catch((e) => e)) as Error;
      expect(err.message).toStartWith("ERR user_script:");
      expect(err.message).toContain("boom 1");
      expect(err.message).toEndWith(" (at boom.lua:5)");
    }
  });

  test("a command refused inside an include", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const key = `${testPrefix()}:not-a-stream`;
    await q.client.sendCommand(["SET", key, "x"]);
    const s = script("trim", `${boom}ack_and_trim(KEYS[1], 'g', { '1-1' })\n`, 1);
    const err = (await runScript(q.client, s, [key], []).catch((e) => e)) as Error;
    expect(err.message).toStartWith("WRONGTYPE ");
    const xack = lineOf(includes.entries!, "redis.call('XACK'");
    expect(err.message).toEndWith(` (at include/entries.lua:${xack})`);
    await q.client.sendCommand(["DEL", key]);
  });
});

// include/clip.lua: bytes cut to a bound, never inside a UTF-8 character; bytes that are no
// UTF-8 (a foreign writer's) are cut at the bound, not walked back to nothing.
describe("clip_text", () => {
  // The bytes kept, as hex (a reply read as text would show U+FFFD for bytes that are no UTF-8).
  const hex =
    "string.gsub(clip_text(ARGV[1], tonumber(ARGV[2])), '.', function(c) return string.format('%02x', string.byte(c)) end)";
  const clip = async (bytes: Buffer, most: number): Promise<string> => {
    await using q = await openQueue({ prefix: testPrefix() });
    const source = `${includes.clip}\nreturn (${hex})`;
    const key = q.keys.stream; // a key of the queue's slot: the call is routed on a cluster
    const raw = bytes as unknown as string; // sent as bytes (node-redis takes Buffers)
    return String(await q.client.sendCommand(["EVAL", source, "1", key, raw, String(most)]));
  };
  test.each([
    ["ASCII", Buffer.from("x".repeat(12)), 10, "x".repeat(10)],
    ["a two-byte character across the bound", Buffer.from(`${"x".repeat(9)}é`), 10, "x".repeat(9)],
    ["a four-byte one across it", Buffer.from(`xx${"😀".repeat(3)}`), 10, `xx${"😀".repeat(2)}`],
    ["continuation bytes only", Buffer.alloc(20, 0x80), 10, Buffer.alloc(10, 0x80)],
    [
      "a letter, then continuation bytes",
      Buffer.concat([Buffer.from("a"), Buffer.alloc(19, 0x80)]),
      10,
      Buffer.concat([Buffer.from("a"), Buffer.alloc(9, 0x80)]),
    ],
  ])("%s", async (_, bytes, most, kept) => {
    expect(await clip(bytes, most)).toBe(Buffer.from(kept as string | Buffer).toString("hex"));
  });
});
