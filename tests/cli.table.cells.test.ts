// A text table's cell longer than any id or name Courier takes (a key or member written by hand:
// a 1 MB job id, task or worker name) is cut (…) before its column is padded: padded whole, it
// made every row of the page that wide (`queue jobs --limit 500` printed 63 MB for one such
// delayed member; `dead list`, `info`'s workers and `schedule list` the same). The last column,
// never padded, is left as it is.
import { expect, test } from "bun:test";
import { table } from "../lib/cli/table.ts";
import { ID_SHOWN_MAX } from "../lib/safe-text.ts";
import { openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

test("a cell past ID_SHOWN_MAX is cut before padding; the last column is not", () => {
  const huge = "x".repeat(1_000_000);
  const lines = table([
    ["ID", "TASK", "ERROR"],
    [huge, "echo", huge],
    ["a", "b", "c"],
  ]);
  expect(lines[1]).toBe(`${"x".repeat(ID_SHOWN_MAX)}…  echo  ${huge}`);
  expect(lines[2]).toBe(`${"a".padEnd(ID_SHOWN_MAX + 1)}  b     c`);
  // Not inside a surrogate pair: a cut there would print half a character.
  const emoji = `${"y".repeat(ID_SHOWN_MAX - 1)}😀😀`;
  expect(table([[emoji, "z"]])[0]).toBe(`${"y".repeat(ID_SHOWN_MAX - 1)}…  z`);
  // A cell of ID_SHOWN_MAX exactly is shown whole.
  expect(table([["w".repeat(ID_SHOWN_MAX), "z"]])[0]).toBe(`${"w".repeat(ID_SHOWN_MAX)}  z`);
});

test("dead list of letters beside one with a 1 MB id and task prints each row narrow", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, shards: 1 });
  await using r = await rawRedis();
  const letter = (id: string, task: string) => [
    "id",
    id,
    "task",
    task,
    "error",
    "e",
    "attempts",
    "1",
    "payload",
    "1",
    "max_attempts",
    "3",
  ];
  for (let i = 0; i < 20; i++)
    await r.sendCommand(["XADD", q.keys.dead, "*", ...letter(`j${i}`, "echo")]);
  await r.sendCommand([
    "XADD",
    q.keys.dead,
    "*",
    ...letter("I".repeat(1_000_000), "T".repeat(1_000_000)),
  ]);
  const out = await runCli("dead", ["list", "--prefix", prefix]);
  expect(out.code).toBe(0);
  expect(out.stdout.length).toBeLessThan(30_000);
  expect(out.stdout).toContain(`${"I".repeat(ID_SHOWN_MAX)}…`);
});
