// A number JSON cannot carry: beyond a double in the text (`1e999`, which JSON.parse reads as
// Infinity), or NaN/±Infinity in a library payload (which JSON.stringify writes as null). Each
// would have been stored as null and the job run on it: refused instead, in one line (exit 2),
// nothing enqueued; the library throws InputError.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hugeNumberAt } from "../lib/cli/json-error.ts";
import { InputError } from "../lib/errors.ts";
import { nonFiniteAt } from "../lib/queue/payload-numbers.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { openQueue, runCli, testPrefix } from "./helpers.ts";

const RANGE = "JSON numbers must fit a double (about ±1.8e308)";

describe("trigger and schedule add", () => {
  test.each([
    [["--payload", "1e999"], "--payload has a number out of range at line 1, column 1"],
    [
      ["--payload", '{"m":1e400,"k":-1e400}'],
      "--payload has a number out of range at line 1, column 6",
    ],
    [
      ["--payload", '["1e999", -2e308]'],
      "--payload has a number out of range at line 1, column 11",
    ],
  ])("trigger --task t %j: exit 2, one line, nothing enqueued", async (args, message) => {
    const prefix = testPrefix();
    const r = await runCli("trigger", ["--prefix", prefix, "--task", "t", "--id", "j1", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`trigger: ${message}: ${RANGE}\nRun with --help to see the options.\n`);
    await using q = await openQueue({ prefix });
    expect(await q.getJob("j1")).toBeNull();
  });

  test("--payload-file: the line and column, never the file's text", async () => {
    const file = join(tmpdir(), `courier-huge-${process.pid}.json`);
    writeFileSync(file, '{\n  "secret": "1e999",\n  "n": 1e999\n}\n');
    try {
      const r = await runCli("trigger", ["--task", "t", "--payload-file", file]);
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe(
        `trigger: the payload in ${file} has a number out of range at line 3, column 8: ${RANGE}`,
      );
      expect(r.stderr).not.toContain("secret");
    } finally {
      rmSync(file, { force: true });
    }
  });

  test("schedule add --payload 1e999: exit 2, no schedule", async () => {
    const prefix = testPrefix();
    const args = ["add", "s1", "--every", "5m", "--task", "t", "--payload", "1e999"];
    const r = await runCli("schedule", [...args, "--prefix", prefix]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      `schedule: --payload has a number out of range at line 1, column 1: ${RANGE}`,
    );
    const list = await runCli("schedule", ["list", "--prefix", prefix, "--json"]);
    expect(list.stdout).not.toContain("s1");
  });

  test("the largest doubles pass", async () => {
    const prefix = testPrefix();
    const r = await runCli("trigger", [
      "--prefix",
      prefix,
      "--task",
      "t",
      "--id",
      "j2",
      "--payload",
      "[1.7e308,-1.7e308,1e-400]",
    ]);
    expect(r.code).toBe(0);
    await using q = await openQueue({ prefix });
    expect((await q.getJob("j2"))?.payload).toEqual([1.7e308, -1.7e308, 0]);
  });
});

describe("the library", () => {
  const o = { maxAttempts: 3 };
  test.each([
    [Number.POSITIVE_INFINITY, "(Infinity) at payload"],
    [{ m: 1, k: [2, { x: Number.NaN }] }, "(NaN) at payload.k[1].x"],
    [{ "a key": Number.NEGATIVE_INFINITY }, '(-Infinity) at payload["a key"]'],
    [[null, 1, Number.NaN, Number.POSITIVE_INFINITY], "(NaN) at payload[2]"],
  ])("prepareJob refuses %p", (payload, where) => {
    const err = (() => {
      try {
        prepareJob({ task: "t", payload }, o);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      `the payload holds a number JSON cannot carry ${where}: it would be stored as null`,
    );
  });

  test.each([[null], [{ a: null, b: [null, 1.5] }], [Number.MAX_VALUE], ["Infinity"]])(
    "prepareJob passes %p",
    (payload) => {
      expect(prepareJob({ task: "t", payload }, o).payload).toBe(JSON.stringify(payload));
    },
  );

  test("Queue.enqueue rejects with InputError, nothing stored", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await expect(q.enqueue("t", { m: Number.POSITIVE_INFINITY }, { id: "j3" })).rejects.toThrow(
      InputError,
    );
    expect(await q.getJob("j3")).toBeNull();
  });

  test("nonFiniteAt finds the first in the payload's order", () => {
    expect(nonFiniteAt({ a: [1, Number.NaN], b: Number.POSITIVE_INFINITY })).toEqual({
      path: "payload.a[1]",
      n: Number.NaN,
    });
    expect(nonFiniteAt({ a: 1 })).toBeUndefined();
  });
});

test.each([
  ["1e999", 0],
  ['{"m":1e400,"k":-1e400}', 5],
  ['["1e999", 2, -1e999]', 13],
  ['{"a\\"1e999":1}', -1],
  ["[1.5, -0, 1e308]", -1],
  ["[1e308, 2e308]", 8],
])("hugeNumberAt(%p) is %p", (text, at) => {
  expect(hugeNumberAt(text)).toBe(at);
});
