// A dashboard token with a space, tab or newline at either end: every request's header is read
// without them, so no action could ever be allowed; nor with a character that is not printable
// ASCII (`é`: curl sends UTF-8, read as Latin-1; a browser sends none beyond Latin-1). Refused at start (exit 2, one line, the
// token never shown), by the dashboard and by the stack that would start it.
import { describe, expect, test } from "bun:test";
import { checkDashboardToken } from "../lib/dashboard/options.ts";
import { ConfigError } from "../lib/errors.ts";
import { parseStackArgs } from "../lib/stack/options.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { runCli, testPrefix } from "./helpers.ts";

const GOOD = "0123456789abcdef0123";
const UNSENDABLE =
  "the dashboard token (--token or COURIER_DASHBOARD_TOKEN) starts or ends with a space, tab or newline: no request could send it; remove them";

const NOT_ASCII =
  "the dashboard token (--token or COURIER_DASHBOARD_TOKEN) holds a character that is not printable ASCII (a letter with an accent, a control character): no request could send it as typed; use ASCII letters, digits and punctuation (`openssl rand -hex 16`)";

describe("checkDashboardToken", () => {
  test.each([`${GOOD} `, ` ${GOOD}`, `${GOOD}\n`, `\t${GOOD}`, " short "])(
    "refuses %p",
    (token) => {
      expect(() => checkDashboardToken(token)).toThrow(new ConfigError(UNSENDABLE));
    },
  );

  test.each(["é".repeat(18), `${GOOD}\u00a0x`, `${GOOD}\x01x`, `${GOOD}\nx`, `${GOOD}\u200bx`])(
    "refuses %p: not printable ASCII, which no header sends as typed",
    (token) => {
      expect(() => checkDashboardToken(token)).toThrow(new ConfigError(NOT_ASCII));
    },
  );

  test.each([GOOD, "0123456789 abcdef", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", undefined])(
    "takes %p",
    (token) => {
      expect(() => checkDashboardToken(token)).not.toThrow();
    },
  );
});

test("dashboard: a token from the environment with a trailing space exits 2, not shown", async () => {
  const env = { COURIER_DASHBOARD_TOKEN: `${GOOD} ` };
  const r = await runCli("dashboard", ["--prefix", testPrefix(), "--port", "0"], { env });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`dashboard: ${UNSENDABLE}\nRun with --help to see the options.\n`);
  expect(r.stdout).toBe("");
});

test("dashboard: a token with a letter not ASCII exits 2: no request could match it", async () => {
  const env = { COURIER_DASHBOARD_TOKEN: "é".repeat(18) };
  const r = await runCli("dashboard", ["--prefix", testPrefix(), "--port", "0"], { env });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`dashboard: ${NOT_ASCII}\nRun with --help to see the options.\n`);
});

test("dashboard --token with a leading space, in process", async () => {
  const r = await runUsage("dashboard", ["--port", "0", "--token", ` ${GOOD}`]);
  expect(r.code).toBe(2);
  expect(r.stderr.split("\n")[0]).toBe(`dashboard: ${UNSENDABLE}`);
});

test("stack refuses it before starting anything", () => {
  const env = { COURIER_DASHBOARD_TOKEN: `${GOOD}\n` };
  expect(() => parseStackArgs({}, env, "/")).toThrow(new ConfigError(UNSENDABLE));
});
