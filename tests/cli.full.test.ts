// A command refused for lack of memory (maxmemory under noeviction) anywhere in a CLI, not
// only in `trigger` (which says which lines were enqueued: tests/trigger.full.test.ts), is one
// line and exit 7, never "unexpected error" with a stack trace: the reply may come bare or as
// the cause of another error.
import { describe, expect, test } from "bun:test";
import { ErrorReply } from "redis";
import { describeFailure, EXIT } from "../bin/_cli.ts";

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

describe("an out-of-memory refusal in any command", () => {
  test.each([
    ["the bare reply", new ErrorReply(OOM)],
    ["as a cause", new Error("requeue failed", { cause: new ErrorReply(OOM) })],
  ])("%s: exit 7, one line naming the cause", (_, err) => {
    const [code, line] = describeFailure(err);
    expect(code).toBe(EXIT.full);
    expect(line).toMatch(/: Redis is out of memory \(maxmemory reached, policy noeviction\)/);
    expect(line).not.toContain("\n");
  });

  test("another error reply is still reported as unexpected", () => {
    const [code, line] = describeFailure(new ErrorReply("ERR something else"));
    expect(code).toBe(EXIT.internal);
    expect(line).toContain("unexpected error");
  });
});
