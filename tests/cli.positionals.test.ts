// A word given to a command that takes none is refused (exit 2, one line) before anything runs:
// `info q2-typo` listed every queue, `dead purge --all extra` purged. Commands that take words
// (a queue, a schedule, job ids, a URL) keep them, and their own count checks.
import { describe, expect, test } from "bun:test";
import { checkArgs } from "../lib/cli/args.ts";
import { ConfigError } from "../lib/errors.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { runCli } from "./helpers.ts";

const UNEXPECTED = (word: string) =>
  `unexpected argument "${word}": this command takes options only`;

describe("checkArgs: words", () => {
  const options = { queue: { type: "string" }, json: { type: "boolean" } };
  const withWords = { ...options, id: { type: "positional" } };
  test.each([
    [options, ["extra"], UNEXPECTED("extra")],
    [options, ["--queue", "q", "extra"], UNEXPECTED("extra")],
    [options, ["--json", "extra"], UNEXPECTED("extra")],
    [options, ["--", "extra"], UNEXPECTED("extra")],
    [options, ["-"], UNEXPECTED("-")],
    [options, ["-5"], UNEXPECTED("-5")],
    [options, ["x".repeat(100)], UNEXPECTED(`${"x".repeat(40)}…`)],
    [options, ["--queue", "extra"], null], // a value, not a word
    [options, ["--json", "--"], null],
    [withWords, ["a", "b", "--", "c"], null],
  ])("%j %j → %p", (defs, args, message) => {
    const check = () => checkArgs(args, defs);
    if (message === null) expect(check).not.toThrow();
    else expect(check).toThrow(new ConfigError(message));
  });
});

// A switch given a value: citty read any `=value` but `false` as on, so `dead purge --all=no`
// purged every letter and `worker --allow-private=0` turned the guard off.
describe("checkArgs: a switch takes no value", () => {
  const defs = { all: { type: "boolean" }, queue: { type: "string" } };
  test.each([
    [["--all=no"], "--all takes no value: give --all alone, or leave it out"],
    [["--all=false"], "--all takes no value: give --all alone, or leave it out"],
    [["--all="], "--all takes no value: give --all alone, or leave it out"],
    [["--no-all=1"], "--no-all takes no value: give --no-all alone, or leave it out"],
    [["--all"], null],
    [["--queue=a=b"], null], // a value option's value may hold '='
  ])("%j → %p", (args, message) => {
    const check = () => checkArgs(args, defs);
    if (message === null) expect(check).not.toThrow();
    else expect(check).toThrow(new ConfigError(message));
  });

  test("a real process: dead purge --all=no purges nothing, exit 2", async () => {
    const r = await runCli("dead", ["purge", "--all=no"]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      "dead: --all takes no value: give --all alone, or leave it out",
    );
  });
});

// Every command and subcommand that takes no word, with one given.
const NO_WORDS: [string, string[]][] = [
  ["info", ["q2-typo"]],
  ["info", ["--json", "--", "x"]],
  ["worker", ["bogus"]],
  ["dashboard", ["bogus"]],
  ["stack", ["bogus"]],
  ["dead", ["list", "--queue", "q2", "stray"]],
  ["dead", ["purge", "--all", "extra"]],
  ["schedule", ["list", "q2"]],
];

describe("commands that take no words", () => {
  test.each(NO_WORDS)("%s %j: exit 2, one line", async (cli, args) => {
    const r = await runUsage(cli, args);
    expect(r.code).toBe(2);
    const word = args.at(-1)!;
    expect(r.stderr).toBe(`${cli}: ${UNEXPECTED(word)}\nRun with --help to see the options.\n`);
  });

  test("a real process: dead purge --all extra purges nothing, exit 2", async () => {
    const r = await runCli("dead", ["purge", "--all", "extra"]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(`dead: ${UNEXPECTED("extra")}`);
  });
});

describe("commands that take words keep them", () => {
  const unreachable = ["--redis-url", "redis://127.0.0.1:1"];
  test.each([
    ["trigger", ["a.org", ...unreachable], 6],
    ["result", ["1-1", ...unreachable], 6],
    ["cancel", ["1-1", ...unreachable], 6],
    ["dead", ["show", "1-1", ...unreachable], 6],
    ["queue", ["jobs", "default", "--state", "dead", ...unreachable], 6],
    ["schedule", ["remove", "s1", ...unreachable], 6],
  ])("%s %j reaches Redis (exit %i)", async (cli, args, code) => {
    const r = await runCli(cli, args);
    expect(r.stderr).not.toContain("unexpected argument");
    expect(r.code).toBe(code);
  });

  test("their own count checks stand: queue jobs default extra", async () => {
    const r = await runUsage("queue", ["jobs", "default", "extra", "--state", "dead"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("give one queue name");
  });
});
