// `bun run check` compiles the CLIs its tests spawn (scripts/_test-clis.ts) and tests/helpers.ts
// runs those builds in place of `bun bin/<name>.ts`: a compiled CLI must answer as its source
// does, or every CLI test would be testing something else. Run by `bun test` alone (no compiled
// CLIs), the comparison is skipped and says so; the choice of names is checked either way.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { testCliNames } from "../scripts/_test-clis.ts";
import { cliCommand, ROOT, redisUrl, runProcess } from "./helpers.ts";

const compiledDir = process.env.COURIER_TEST_CLI_DIR || undefined;

test("every command of bin/ is compiled but stack and courier (they find bin/ files beside them)", () => {
  const names = testCliNames(ROOT);
  expect(names).toEqual(
    expect.arrayContaining([
      "cancel",
      "dead",
      "info",
      "queue",
      "result",
      "schedule",
      "trigger",
      "worker",
    ]),
  );
  expect(names).not.toContain("stack");
  expect(names).not.toContain("courier");
  expect(names.filter((n) => n.startsWith("_"))).toEqual([]);
});

test("a run that injects a fault through BUN_OPTIONS runs the source", () => {
  const source = [process.execPath, resolve(ROOT, "bin", "dead.ts")];
  expect(cliCommand("dead", { BUN_OPTIONS: "--preload x.ts" })).toEqual(source);
  expect(cliCommand("stack")).toEqual([process.execPath, resolve(ROOT, "bin", "stack.ts")]);
});

/** Runs a command line to its end, against the test Redis. */
const run = (cmd: string[], args: string[]) =>
  runProcess([...cmd, ...args], { env: { ...process.env, REDIS_URL: redisUrl(), NO_COLOR: "1" } });

describe.skipIf(compiledDir === undefined)("a compiled CLI answers as its source does", () => {
  for (const name of testCliNames(ROOT)) {
    test(`${name}: --help, and an unknown option`, async () => {
      const compiled = cliCommand(name);
      expect(compiled).toEqual([resolve(compiledDir!, name)]);
      const source = [process.execPath, resolve(ROOT, "bin", `${name}.ts`)];
      for (const args of [["--help"], ["--no-such-option"]]) {
        const [a, b] = await Promise.all([run(compiled, args), run(source, args)]);
        expect({ args, ...a }).toEqual({ args, ...b });
        expect(a.stdout + a.stderr).not.toBe("");
      }
    });
  }
});
