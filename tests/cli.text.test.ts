// Pure logic of the CLI's hardening, by tables: control characters made visible, JSON with no
// raw control character, argument checks with "did you mean", Redis refusals in one line, and
// listen failures as usage errors.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorReply } from "@redis/client";
import { checkArgs, editDistance, suggest } from "../lib/cli/args.ts";
import { readOnlyLine, refusalLine } from "../lib/cli/refusal.ts";
import { ConfigError } from "../lib/errors.ts";
import { safeJson, safeText, safeTextModule } from "../lib/safe-text.ts";
import { listenError } from "../lib/worker/health.ts";

/**
 * Any C0 but \n, DEL, C1, a bidi control, or a character that shows nothing or breaks a line
 * unseen (line separators, zero-width space, word joiner, BOM, tags): what must never reach a
 * terminal raw.
 */
const RAW_CONTROL =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u115f\u1160\u3164\uffa0\ud800-\udfff]|(?!\u200c|\u200d|[\ufe00-\ufe0f])[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

describe("safeText", () => {
  test.each([
    ["plain text", "plain text", "plain text"],
    ["an OSC title then SGR", "\x1b]0;pwned\x07\x1b[31m", "\\x1b]0;pwned\\x07\\x1b[31m"],
    ["a C1 CSI", "OK\u009b31m", "OK\\x9b31m"],
    ["DEL", "a\x7fb", "a\\x7fb"],
    ["NUL and BS", "a\0b\bc", "a\\x00b\\x08c"],
    ["a line break", "two\nlines", "two\\nlines"],
    ["CR and tab", "a\rb\tc", "a\\rb\\tc"],
    ["a right-to-left override", "abc\u202Etxt.exe", "abc\\u202etxt.exe"],
    ["an isolate", "\u2066x\u2069", "\\u2066x\\u2069"],
    ["bidi marks", "a\u200eb\u200fc\u061cd", "a\\u200eb\\u200fc\\u061cd"],
    ["letters beyond ASCII", "café — 日本 ✓", "café — 日本 ✓"],
    // Shown as nothing, or a line break no one sees coming (R-192).
    ["a zero-width space and a word joiner", "pay\u200bpal\u2060", "pay\\u200bpal\\u2060"],
    ["a byte order mark", "\ufeffid", "\\ufeffid"],
    ["line and paragraph separators", "a\u2028b\u2029", "a\\u2028b\\u2029"],
    ["tag characters", "a\u{e0041}\u{e007f}b", "a\\u{e0041}\\u{e007f}b"],
    ["joiners stay (emoji, scripts)", "👩\u200d💻 می\u200cخواهم", "👩\u200d💻 می\u200cخواهم"],
    ["variation selectors stay (emoji)", "❤\ufe0f", "❤\ufe0f"],
    // Every other format character (Unicode Cf) and what else shows nothing.
    ["a soft hyphen", "pay\u00adpal", "pay\\xadpal"],
    ["invisible operators", "a\u2061b\u2062c\u2063d\u2064", "a\\u2061b\\u2062c\\u2063d\\u2064"],
    ["Hangul fillers", "\u115f\u1160\u3164\uffa0", "\\u115f\\u1160\\u3164\\uffa0"],
    ["a Mongolian vowel separator", "a\u180eb", "a\\u180eb"],
    ["deprecated format characters", "a\u206ab\u206f", "a\\u206ab\\u206f"],
    ["interlinear annotation", "\ufff9a\ufffab\ufffb", "\\ufff9a\\ufffab\\ufffb"],
    ["a combining grapheme joiner", "a\u034fb", "a\\u034fb"],
    ["musical format characters", "a\u{1d173}b", "a\\u{1d173}b"],
    ["a lone surrogate (half a character)", "a\ud800b\udc00", "a\\ud800b\\udc00"],
    ["C1 neighbours are kept", "\u00a0\u00ff", "\u00a0\u00ff"],
  ] as [string, string, string][])("%s", (_what, text, shown) => {
    expect(safeText(text)).toBe(shown);
    expect(safeText(text)).not.toMatch(RAW_CONTROL);
  });

  test("multiline keeps line breaks and tabs, and only those", () => {
    expect(safeText("a\nb\tc\r\x1b", { multiline: true })).toBe("a\nb\tc\\r\\x1b");
  });

  test("is idempotent: escaping twice shows the same", () => {
    const once = safeText("\x1b[2J\u009b");
    expect(safeText(once)).toBe(once);
  });
});

describe("safeJson", () => {
  test.each([
    ["C0", { t: "\x1b]0;x\x07" }],
    ["DEL and C1", { t: "a\x7f\u0085\u009b" }],
    ["bidi", { t: "\u202e\u2066" }],
    ["line separators", { t: "\u2028\u2029" }],
    ["invisible characters", { t: "\u200b\u2060\ufeff" }],
    ["tag characters", { t: "a\u{e0041}b" }],
    ["soft hyphen, invisible operators, Hangul fillers", { t: "\u00ad\u2061\u3164\uffa0" }],
  ])("%s: no raw control character, and the same value parsed back", (_what, value) => {
    const text = safeJson(value);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe("checkArgs", () => {
  const defs = {
    queue: { type: "string" },
    name: { type: "string" },
    json: { type: "boolean" },
    concurrency: { type: "string" },
    action: { type: "positional" },
  };
  test.each([
    [["--queue", "q", "--json"], null],
    [["--queue=q"], null],
    [["--concurrency", "-1"], null], // a negative number is a value (refused later by its range)
    [["--name", "-"], null],
    [["list", "--json", "--", "--anything"], null],
    [["--no-json"], null],
    [["--queue"], "--queue needs a value"],
    [["--queue", "--json"], "--queue needs a value"],
    [["--queue="], "--queue needs a value"],
    [["--queue", ""], "--queue needs a value"],
    [["--name", "--queue", "q"], "--name needs a value"],
    [["--colour"], "unknown option --colour"],
    [["--jsn"], "unknown option --jsn (did you mean --json?)"],
    [["--qeueu=x"], "unknown option --qeueu (did you mean --queue?)"],
    [["--conc", "3"], "unknown option --conc (did you mean --concurrency?)"],
    [["--action", "x"], "unknown option --action"],
    [["--queue", "a", "--queue", "b"], "give --queue once"],
    [["--queue=a", "--json", "--queue", "a"], "give --queue once"],
    [["--name", "x", "--queue", "q", "--name=y"], "give --name once"],
    [["--json", "--json", "--no-json"], null], // a switch said twice means the same
  ])("%j → %p", (args, message) => {
    const check = () => checkArgs(args, defs);
    if (message === null) expect(check).not.toThrow();
    else {
      expect(check).toThrow(ConfigError);
      expect(check).toThrow(new ConfigError(message));
    }
  });

  test.each([
    ["colour", ["color", "queue"], "color"],
    ["jobId", ["jobid", "json"], "jobid"],
    ["redis-ur", ["redis-url", "prefix"], "redis-url"],
    ["xyz", ["json", "queue"], undefined],
    ["q", ["queue"], undefined],
  ])("suggest(%p) is %p", (given, known, expected) => {
    expect(suggest(given, known)).toBe(expected);
  });

  test.each([
    ["", "", 0],
    ["kitten", "sitting", 3],
    ["colour", "color", 1],
    ["abc", "", 3],
  ])("editDistance(%p, %p) is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe("refusalLine", () => {
  test.each([
    [
      "NOPERM this user has no permissions to run the 'xreadgroup' command",
      /^Redis refused XREADGROUP \(NOPERM\): the Redis user needs \+xreadgroup; see "Redis ACL"/,
    ],
    [
      "NOPERM this user has no permissions to run the 'xgroup|create' command",
      /needs \+xgroup\|create/,
    ],
    [
      "NOPERM this user has no permissions to access one of the keys used as arguments",
      /refused access to a key \(NOPERM\).*~<prefix>:\*/,
    ],
    [
      "ERR The user executing the script can't run this command or subcommand script: 0000000000000000000000000000000000000000, on @user_script:1.",
      /inside Courier's unknown script \(NOPERM\)/,
    ],
    [
      "WRONGTYPE Operation against a key holding the wrong kind of value",
      /\(WRONGTYPE\).*--prefix/,
    ],
    [
      "ERR courier: key p:{q}:stream\x1b[2J holds a string, not a stream",
      /^Redis refused a Courier script \(WRONGTYPE\): key p:\{q\}:stream\\x1b\[2J holds a string where Courier keeps a stream; nothing was written; .*--prefix/,
    ],
  ])("%s", (reply, line) => {
    const shown = refusalLine(reply);
    expect(shown).toMatch(line);
    expect(shown).not.toContain("\n");
  });

  test("READONLY is no refusal for good (a worker tries again), but a command's one line", () => {
    const reply = new ErrorReply(
      "READONLY You can't write against a read only replica. script: 7e60fa0ec31fe149792786286f969272d9a26523, on @user_script:258. (at enqueue.lua:139)",
    );
    expect(refusalLine(reply.message)).toBeNull();
    expect(readOnlyLine(new Error("enqueue failed", { cause: reply }))).toBe(
      "Redis refused a write (READONLY): this Redis is a read-only replica; give its master's address",
    );
    expect(readOnlyLine(new ErrorReply("ERR syntax error"))).toBeNull();
  });

  test.each([["ERR syntax error"], ["BUSYGROUP Consumer Group name already exists"]])(
    "%s is not a refusal",
    (reply) => {
      expect(refusalLine(reply)).toBeNull();
    },
  );
});

describe("listenError", () => {
  test.each([
    ["EADDRINUSE", "127.0.0.1", 9181, "cannot listen on 127.0.0.1:9181: address in use"],
    ["EADDRNOTAVAIL", "10.9.9.9", 1, "cannot listen on 10.9.9.9:1: no such address"],
    ["EINVAL", "::1", 80, "cannot listen on [::1]:80: not a valid address"],
  ])("%s", (code, host, port, message) => {
    const err = listenError(Object.assign(new Error("x"), { code }), host, port);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toStartWith(message);
  });

  test("another error is passed on as it is", () => {
    const other = new Error("boom");
    expect(listenError(other, "h", 1)).toBe(other);
  });
});

test.each([
  ["with the v flag", (source: string) => source],
  // A browser before the v flag (2023): the u form, the same escapes.
  ["without it", (source: string) => source.replace('new RegExp(v, "gv")', "undefined.v")],
])(
  "safeTextModule (the dashboard page's /safe-text.js) escapes as safeText does, %s",
  async (_what, as) => {
    const file = join(mkdtempSync(join(tmpdir(), "courier-safe-text-")), "safe-text.js");
    writeFileSync(file, as(safeTextModule()));
    const page = (await import(file)) as { safeText: typeof safeText };
    const texts = [
      "plain",
      "a\u202eb\u3164\u00ad",
      "\x1b]0;x\x07",
      "two\nlines\t",
      "❤\ufe0f 👩\u200d💻",
      "a\ud800b\u{e0041}",
    ];
    for (const text of texts) {
      expect(page.safeText(text)).toBe(safeText(text));
      expect(page.safeText(text, { multiline: true })).toBe(safeText(text, { multiline: true }));
    }
  },
);
