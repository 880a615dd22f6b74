// runUsage (tests/fixtures/cli/in-process.ts) runs a CLI's usage errors in the test's process:
// what it returns must be what the real process prints and exits with, byte for byte.
import { expect, test } from "bun:test";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { onOneServer, runCli, testPrefix } from "./helpers.ts";

// Refused before Redis is reached: nothing a cluster changes (not in the cluster pass).
test.skipIf(!onOneServer).each([
  ["trigger", ["--url", "https://example.org/", "--max-attempts", "0"], {}],
  ["result", ["--wait", "30"], {}],
  ["dashboard", ["--port", "0", "--prefx", "p"], {}],
  ["worker", [], { REDIS_URL: "http://u:hunter2@x" }],
] as [string, string[], Record<string, string>][])(
  "%s %j %j: the same output and exit code as its process",
  async (cli, args, env) => {
    const argv = ["--prefix", testPrefix(), ...args];
    const [real, inProcess] = [
      await runCli(cli, argv, { env }),
      await runUsage(cli, argv, { env }),
    ];
    expect(real.code).toBe(2);
    expect(inProcess).toEqual(real);
  },
);
