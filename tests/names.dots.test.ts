// A schedule name or a caller's job id of `.` or `..` is refused: the dashboard puts both in
// action paths (`/api/schedules/<name>/pause`), where URL resolution turns `..` into the parent
// (Pause on schedule `..` would pause the queue), and browsers resolve `%2e%2e` as well.

import { expect, test } from "bun:test";
import { callerIdProblem } from "../lib/engine/keys.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { openQueue, testPrefix } from "./helpers.ts";

test.each([["."], [".."]])("schedule %p: refused in one line, nothing written", async (name) => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const schedules = new Schedules(q.client, prefix);
  const add = schedules.add({ name, every: "1h", task: "t" });
  await expect(add).rejects.toThrow(
    "schedule name must not be . or ..: the dashboard puts it in a URL path, where . and .. are resolved",
  );
  expect(await schedules.list()).toEqual([]);
});

test("schedule add ..: exit 2, the reason first", async () => {
  const prefix = testPrefix();
  const r = await runUsage("schedule", [
    "add",
    "..",
    "--every",
    "5m",
    "--task",
    "t",
    "--prefix",
    prefix,
  ]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr.split("\n")[0]).toBe(
    "schedule: schedule name must not be . or ..: the dashboard puts it in a URL path, where . and .. are resolved",
  );
});

test.each([["."], [".."]])("job id %p: refused, as enqueue and trigger --id say", async (id) => {
  const problem = `job id "${id}" must not be . or ..: the dashboard puts it in a URL path, where . and .. are resolved`;
  expect(callerIdProblem(id)).toBe(problem);
  // Names with dots that no URL resolves stay allowed.
  for (const ok of ["...", ".a", "a.", "a..b"]) expect(callerIdProblem(ok)).toBeNull();
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await expect(q.enqueue("t", null, { id })).rejects.toThrow(problem);
  const r = await runUsage("trigger", ["--task", "t", "--id", id, "--prefix", prefix]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr.split("\n")[0]).toBe(`trigger: --id: ${problem}`);
});
