// COURIER_DASHBOARD_TOKEN_READS takes 1, true or yes (reads need the token) and 0, false, no or
// empty (reads open), any case: another value (`on`, a typo) is refused in one line, exit 2,
// before anything starts. It was ignored: reads stayed open while the operator thought not.
import { expect, test } from "bun:test";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { testPrefix } from "./helpers.ts";

const TOKEN = "s3cret-test-token-0190";

test.each([["on"], ["2"], ["enabled"], ["ture"], ["yes please"], ["\u001b[2J"]])(
  "COURIER_DASHBOARD_TOKEN_READS=%p: exit 2, one line",
  async (value) => {
    const env = { COURIER_DASHBOARD_TOKEN: TOKEN, COURIER_DASHBOARD_TOKEN_READS: value };
    const r = await runUsage("dashboard", ["--prefix", testPrefix(), "--port", "0"], { env });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    const [line] = r.stderr.split("\n");
    expect(line).toStartWith(
      "dashboard: COURIER_DASHBOARD_TOKEN_READS must be 1, true or yes (reads need the token) or 0, false, no or empty (reads open), got ",
    );
    expect(line).not.toContain("\u001b");
  },
);
