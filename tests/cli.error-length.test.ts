// What a command is given is quoted in its error in a few dozen characters (shownInput), an
// error line is bounded whatever it names, and the line arrives whole through a slow pipe
// (runCli exits once stderr has taken it). R91 finding 7.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { SHOWN_MAX } from "../lib/safe-text.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { ROOT, runCli } from "./helpers.ts";

/** 100,000 characters given where an id, a name or a value goes. */
const LONG = "a".repeat(100_000);
const CUT = `${"a".repeat(SHOWN_MAX)}…`;

test.each([
  ["result ID", "result", [LONG]],
  ["result --wait", "result", ["1-1", "--wait", LONG]],
  ["cancel ID", "cancel", [LONG]],
  ["trigger --at", "trigger", ["--url", "a.org", "--at", LONG]],
  ["trigger --id", "trigger", ["--task", "t", "--id", LONG]],
  ["trigger --delay", "trigger", ["--task", "t", "--delay", LONG]],
  ["info --interval", "info", ["--watch", "--interval", LONG]],
  ["info --queue", "info", ["--queue", LONG]],
  ["info --prefix", "info", ["--prefix", LONG]],
  ["worker --name", "worker", ["--name", LONG]],
  ["queue limit --rate", "queue", ["limit", "default", "--rate", LONG]],
  ["schedule add --every", "schedule", ["add", "s1", "--every", LONG, "--task", "t"]],
])("%s quotes what it was given cut, exit 2", async (_, name, args) => {
  const r = await runUsage(name as string, args as string[]);
  const line = r.stderr.split("\n")[0]!;
  expect(line).toContain(CUT);
  expect(line.length).toBeLessThan(400);
  expect(r.code).toBe(2);
});

test("cancel - quotes a line that is no job id cut", async () => {
  const r = await runCli("cancel", ["-"], { stdin: `${LONG}\n` });
  expect(r.stderr).toBe(
    `cancel: line 1: "${CUT}" is not a job id (1-128 letters, digits and _ . : -)\n`,
  );
  expect(r.code).toBe(2);
});

test.each([
  ["dead show", "dead", ["show", LONG]],
  ["schedule remove", "schedule", ["remove", LONG]],
])("%s: not found, named cut, exit 4", async (_, name, args) => {
  const r = await runCli(name as string, args as string[]);
  expect(r.stderr).toContain(CUT);
  expect(r.stderr.length).toBeLessThan(400);
  expect(r.code).toBe(4);
});

test("an error line is bounded whatever it names (a 100,000-character host)", async () => {
  const r = await runCli("info", ["--redis-url", `redis://${LONG}:1`]);
  expect(r.stderr.split("\n")).toHaveLength(2); // one line
  expect(r.stderr.length).toBeLessThanOrEqual(2_002);
  expect(r.stderr).toEndWith("…\n");
  expect(r.code).toBe(6);
});

test("a long error arrives whole through a pipe read slowly", async () => {
  // The reader starts a second late: what the command has not handed to the pipe by its exit
  // (past the pipe's 64 KiB) is lost unless it waits for stderr to take it all.
  const fixture = resolve(ROOT, "tests/fixtures/cli/long-error.ts");
  const proc = Bun.spawn({
    cmd: ["sh", "-c", '"$0" "$1" 2>&1 >/dev/null | (sleep 1; cat)', process.execPath, fixture],
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(out.length).toBeGreaterThan(200_000);
  expect(out).toContain(`${"x".repeat(200_000)}<end>`);
});

// `courier NAME`: an unknown command's name was quoted whole (a 100,028-character line, R-192).
test("courier with an unknown command of 100,000 characters quotes it cut, exit 2", async () => {
  const proc = Bun.spawn([process.execPath, resolve(ROOT, "bin/courier.ts"), LONG], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect(err.split("\n")[0]).toBe(`courier: unknown command "${CUT}"`);
  expect(code).toBe(2);
});
