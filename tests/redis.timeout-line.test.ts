// node-redis rejects a command that waited past its own send timeout with a TimeoutError whose
// message is empty: `info` over 20,000 queues said only `unexpected error (please report it):
// Error`, exit 70. Every place that tells a user why a call failed says what it means.
import { describe, expect, spyOn, test } from "bun:test";
import { TimeoutError } from "@redis/client";
import { EXIT, failureText } from "../bin/_exit.ts";
import { watchFailureLine } from "../lib/cli/info-text.ts";
import { publicFailure } from "../lib/dashboard/api.ts";
import { CLIENT_SEND_TIMEOUT_MS, describeCause } from "../lib/redis/cause.ts";

const LINE = `Redis did not answer within ${CLIENT_SEND_TIMEOUT_MS} ms`;

describe("node-redis' TimeoutError (no message)", () => {
  test("a command's failure: one line saying Redis did not answer, exit 6", () => {
    for (const err of [
      new TimeoutError(),
      new Error("read failed", { cause: new TimeoutError() }),
    ]) {
      const [code, line] = failureText(err);
      expect(code).toBe(EXIT.connect);
      expect(line).toStartWith(LINE);
      expect(line).not.toContain("\n");
      expect(line).not.toContain("please report");
    }
  });

  test("its cause's line, info --watch's and the dashboard's (503) say the same", () => {
    expect(describeCause(new TimeoutError())).toStartWith(
      `no answer within ${CLIENT_SEND_TIMEOUT_MS} ms`,
    );
    expect(watchFailureLine("redis://h:1", new TimeoutError())).toContain(
      `no answer within ${CLIENT_SEND_TIMEOUT_MS} ms`,
    );
    const log = spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const f = publicFailure(new TimeoutError());
      expect(f.status).toBe(503);
      expect(f.error).toContain(`no answer within ${CLIENT_SEND_TIMEOUT_MS} ms`);
    } finally {
      log.mockRestore();
    }
  });
});
