// `trigger --then TASK` / `--summary` used wrongly: one line on stderr (and the --help hint), exit 2, no stack trace,
// and nothing written to Redis (the checks run before it is contacted).
import { describe, expect, test } from "bun:test";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { onOneServer, rawRedis, runCli, testPrefix } from "./helpers.ts";

const STACK_FRAME = /^\s+at .+:\d+/m;
const FILE = ["--file", "-"];
const URLS = "https://example.org/a\nhttps://example.org/b\n";

describe("trigger --then/--summary refused (exit 2, nothing enqueued)", () => {
  const cases: [string, string[], RegExp][] = [
    [
      "--summary without --file",
      ["--url", "https://example.org/", "--summary"],
      /--summary goes with --file/,
    ],
    ["--summary with --task", ["--task", "t", "--summary"], /--summary goes with --file/],
    [
      "--then without --file",
      ["--url", "https://example.org/", "--then", "t"],
      /--then goes with --file/,
    ],
    [
      "--then and --summary",
      [...FILE, "--then", "t", "--summary"],
      /give --then TASK or --summary, not both/,
    ],
    [
      "--then-payload alone",
      [...FILE, "--then-payload", "1"],
      /--then-payload goes with --then TASK/,
    ],
    [
      "--summary with a payload",
      [...FILE, "--summary", "--then-payload", "1"],
      /--summary takes no payload/,
    ],
    [
      "a task name with a space",
      [...FILE, "--then", "my task"],
      /--then: "my task" is not a task name/,
    ],
    [
      "a task name with a control character",
      [...FILE, "--then", "a\u001bb"],
      /--then: "a\\x1bb" is not a task name/,
    ],
    ["an empty task name", [...FILE, "--then", ""], /--then needs a value/],
    [
      "a task name too long",
      [...FILE, "--then", "t".repeat(101)],
      /a task name is at most 100 characters/,
    ],
    [
      "a payload that is not JSON",
      [...FILE, "--then", "t", "--then-payload", "{oops"],
      /--then-payload is not JSON: .* at line 1, column 2/,
    ],
    [
      "the word count with no URL",
      [...FILE, "--then", "wordcount", "--then-payload", "{}"],
      /task wordcount takes the payload \{"url": "…"\}/,
    ],
    [
      "the word count with a bad URL",
      [...FILE, "--then", "wordcount", "--then-payload", '{"url":"ftp://x"}'],
      /invalid URL/,
    ],
  ];
  test.each(cases)("%s", async (_, args, message) => {
    const prefix = testPrefix();
    // Those that read standard input (FILE) through a real process; the others, refused before
    // Redis, in this one (runUsage: the same runCli, ~0.2 s of CPU less each).
    const argv = ["--prefix", prefix, ...args];
    const r = args.includes("-")
      ? await runCli("trigger", argv, { stdin: URLS })
      : await runUsage("trigger", argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    // One line, and the hint every usage error ends with.
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(message),
      "Run with --help to see the options.",
    ]);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    await using redis = await rawRedis();
    expect(await redis.sendCommand(["KEYS", `${prefix}:*`])).toEqual([]);
  });
});

// Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
describe.skipIf(!onOneServer)("trigger --help", () => {
  test("lists --then, --then-payload and --summary", async () => {
    const r = await runCli("trigger", ["--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--then", "--then-payload", "--summary"]) expect(r.stdout).toContain(flag);
  });
});
