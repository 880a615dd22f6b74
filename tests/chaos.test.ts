// `bun bench/chaos.ts`'s command line: usage and refusals. The chaos runs themselves (workers
// SIGKILLed, Redis restarted, a master killed) are load work: tests/load/chaos.load.ts, run by
// `bun run test:load`; `bun run chaos` is the long one.
import { expect, test } from "bun:test";
import { runProcess } from "./helpers.ts";

test.each([
  [["--help"], 0, /^usage: bun bench\/chaos\.ts \[options\]\n/, "stdout"],
  [["--bogus"], 2, /^chaos: Unknown option '--bogus'.*\nusage: bun bench\/chaos\.ts/, "stderr"],
  [["--jobs", "many"], 2, /^chaos: --jobs takes a whole number >= 1\nusage: /, "stderr"],
] as const)("chaos %j exits %d with a usage, no stack trace", async (args, code, text, stream) => {
  const run = await runProcess([process.execPath, "bench/chaos.ts", ...args]);
  expect(run.code).toBe(code);
  expect(run[stream]).toMatch(text);
  expect(run.stderr).not.toContain("    at ");
});
