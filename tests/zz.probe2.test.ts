import { expect, test } from "bun:test";
import { runCli, testPrefix } from "./helpers.ts";

test("probe empty stdin", async () => {
  const prefix = testPrefix();
  const cases: [string, string[], string][] = [
    ["cancel", ["-"], ""],
    ["cancel", ["-"], "\n\n  \n"],
    ["cancel", [], ""],
    ["dead", ["requeue", "-"], ""],
    ["dead", ["delete", "-"], ""],
    ["trigger", ["--file", "-"], ""],
    ["trigger", ["--file", "-"], "\n\n"],
    ["dead", ["show", "x".repeat(100)], ""],
    ["schedule", ["remove", "x".repeat(100)], ""],
    ["schedule", ["pause", "y".repeat(100)], ""],
    ["result", ["z".repeat(100)], ""],
  ];
  for (const [cmd, args, stdin] of cases) {
    const o = await runCli(cmd, [...args, "--prefix", prefix], { stdin });
    console.log(cmd, args.join(" ").slice(0,30), JSON.stringify(stdin), "=>", o.code, JSON.stringify(o.stdout.slice(0, 300)), JSON.stringify(o.stderr.slice(0, 400)));
  }
  expect(1).toBe(1);
});
