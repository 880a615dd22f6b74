// What the dashboard tells a page or an API client when a read or an action fails: one place
// (publicFailure) for the API's answers and the live updates' `failure` event, so Redis' own
// message (a key name, a script line) never goes to every open page.
import { describe, expect, spyOn, test } from "bun:test";
import { ErrorReply } from "redis";
import { publicFailure } from "../lib/dashboard/api.ts";

describe("publicFailure", () => {
  test("a full Redis: 507, the action wrote nothing", () => {
    const f = publicFailure(
      new ErrorReply("OOM command not allowed when used memory > 'maxmemory'."),
    );
    expect(f.status).toBe(507);
    expect(f.error).toStartWith("Redis is out of memory");
  });

  test("anything else: 500 pointing to the log, which alone gets the details (escaped)", () => {
    const log = spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const f = publicFailure(new ErrorReply("ERR secret:{q}:key \u009b31m in script"));
      expect(f).toEqual({
        status: 500,
        error: "internal error: the dashboard's log has the details",
      });
      const written = String(log.mock.calls[0]?.[0]);
      expect(written).toContain("secret:{q}:key");
      expect(written).not.toMatch(/[\u0080-\u009f]/);
    } finally {
      log.mockRestore();
    }
  });
});
