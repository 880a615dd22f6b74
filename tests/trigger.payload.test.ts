// A payload that JSON.parse reads but no one can use, and one that is no JSON: `trigger`
// refuses each in one line (exit 2), nothing enqueued; the library refuses the first as an
// InputError. The line says where the text stops being JSON, never what it says (a file given
// by mistake may be a secret one).
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jsonSyntaxError, lineColumn } from "../lib/cli/json-error.ts";
import { InputError } from "../lib/errors.ts";
import { PAYLOAD_DEPTH_MAX } from "../lib/queue/payload-depth.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { openQueue, runCli, testPrefix } from "./helpers.ts";

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const trigger = (prefix: string, args: string[], stdin?: string) =>
  runCli("trigger", ["--prefix", prefix, ...args], { stdin });
const oneLine = (r: { code: number; stderr: string }) => {
  expect(r.stderr).not.toContain("    at "); // no stack trace
  return r.stderr.split("\n")[0];
};

describe("a payload that nests too deeply", () => {
  test("trigger --payload and --payload-file: one line, exit 2, nothing enqueued", async () => {
    const prefix = testPrefix();
    const deep = nested(50_000);
    const fromFile = await trigger(prefix, ["--task", "x", "--payload-file", "-"], deep);
    const fromArg = await trigger(prefix, ["--task", "x", "--payload", deep]);
    for (const r of [fromFile, fromArg]) {
      expect(r.code).toBe(2);
      expect(oneLine(r)).toBe(
        `trigger: the payload nests too deeply: more than ${PAYLOAD_DEPTH_MAX} levels of arrays and objects (or it contains itself)`,
      );
    }
    await using q = await openQueue({ prefix });
    expect(await q.getJob("x")).toBeNull();
    // At the bound: enqueued.
    const edge = await trigger(prefix, ["--task", "x", "--payload", nested(PAYLOAD_DEPTH_MAX)]);
    expect(edge.code).toBe(0);
  });

  test("the library: an InputError, before anything is sent; an object that contains itself too", async () => {
    const deep = JSON.parse(nested(50_000));
    const o = { maxAttempts: 3 };
    expect(() => prepareJob({ task: "x", payload: deep }, o)).toThrow(InputError);
    expect(() => prepareJob({ task: "x", payload: deep }, o)).toThrow(/nests too deeply/);
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    loop.again = loop;
    expect(() => prepareJob({ task: "x", payload: loop }, o)).toThrow(/nests too deeply/);
    expect(
      prepareJob({ task: "x", payload: JSON.parse(nested(PAYLOAD_DEPTH_MAX)) }, o).payload,
    ).toBe(nested(PAYLOAD_DEPTH_MAX));
    await using q = await openQueue({ prefix: testPrefix() });
    await expect(q.enqueue("x", deep)).rejects.toThrow(InputError);
  });
});

describe("a payload that is no JSON: where, not what", () => {
  test("a file's content is never shown, only a line and column", async () => {
    const prefix = testPrefix();
    const file = join(tmpdir(), `${prefix}.shadow`);
    writeFileSync(file, "root:$6$secrethash:19000:0:99999:7:::\ndaemon:*:19000::::::\n");
    try {
      const r = await trigger(prefix, ["--task", "x", "--payload-file", file]);
      expect(r.code).toBe(2);
      expect(oneLine(r)).toBe(
        `trigger: the payload in ${file} is not JSON: an unexpected character where a value should be at line 1, column 1`,
      );
      expect(r.stderr).not.toContain("root");
      expect(r.stderr).not.toContain("secret");
      const late = await trigger(
        prefix,
        ["--task", "x", "--payload-file", "-"],
        '{\n  "a": [1,\n  2 pass]\n}',
      );
      expect(oneLine(late)).toBe(
        "trigger: the payload in standard input is not JSON: expected , or ] at line 3, column 5",
      );
      expect(late.stderr).not.toContain("pass");
      const arg = await trigger(prefix, ["--task", "x", "--payload", '{"token": s3cr3t}']);
      expect(oneLine(arg)).toBe(
        "trigger: --payload is not JSON: an unexpected character where a value should be at line 1, column 11",
      );
    } finally {
      rmSync(file, { force: true });
    }
  });

  // biome-ignore format: a table
  const cases: [string, string | null][] = [
    ['{"a":[1,{"b":null}],"c":"x\\u00e9\\n"}', null],
    [' [ {} , [] , "" , -1.5e3 , 0 , true , false , null ] ', null],
    [nested(100_000), null],
    ["", "the text ends where a value should be at line 1, column 1"],
    ['{"a":1,}', "expected a property name in double quotes at line 1, column 8"],
    ['{"a" 1}', "expected : after a property name at line 1, column 6"],
    ['{"a":1 "b":2}', "expected , or } at line 1, column 8"],
    ["[1,2", "the text ends inside an array at line 1, column 5"],
    ['{"a":[]', "the text ends inside an object at line 1, column 8"],
    ['"abc', "the text ends inside a string at line 1, column 5"],
    ['"a\tb"', "a control character inside a string (write it as \\n, \\t, \\u0000…) at line 1, column 3"],
    ['"\\x"', "a malformed escape in a string at line 1, column 2"],
    ['"\\u12"', "a malformed escape in a string at line 1, column 2"],
    ["-", "a malformed number at line 1, column 1"],
    ["01", "more text after the JSON value at line 1, column 2"],
    ["1.", "more text after the JSON value at line 1, column 2"],
    ["[1,]", "an unexpected character where a value should be at line 1, column 4"],
    ["\n\n  tru", "an unexpected character where a value should be at line 3, column 3"],
    ["\uFEFF1", "an unexpected character where a value should be at line 1, column 1"],
  ];
  test.each(cases)("%j: %p, as JSON.parse judges it", (text, expected) => {
    const error = jsonSyntaxError(text);
    expect(error ? `${error.why} at ${lineColumn(text, error.at)}` : null).toBe(expected);
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    expect(parses).toBe(expected === null);
  });
});
