// `trigger --payload-file`: a valid file is read with one decode and one parse, no more (up to
// 1 MiB of many short lines, the decode split into lines and joined again cost 40 times the
// decode; the scan for a number beyond a double, a second pass over the text, runs only when the
// parse met one). A file that is not UTF-8, or holds such a number, is still named to the line.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as input from "../lib/cli/input.ts";
import * as jsonError from "../lib/cli/json-error.ts";
import { readPayloadFile } from "../lib/cli/trigger-job.ts";
import { testPrefix } from "./helpers.ts";

const files: string[] = [];
function payloadFile(content: string | Uint8Array): string {
  const file = join(tmpdir(), `${testPrefix()}.json`);
  writeFileSync(file, content);
  files.push(file);
  return file;
}
afterEach(() => {
  for (const f of files.splice(0)) rmSync(f, { force: true });
});

describe("readPayloadFile", () => {
  test("a valid file: decoded once, never split into lines, never scanned again", async () => {
    const decodes = spyOn(input, "decodeLines");
    const scans = spyOn(jsonError, "hugeNumberAt");
    try {
      const file = payloadFile(`{"a": [1,\n2, "\u00e9"],\r\n"b": -1.5e3}\n`);
      expect(await readPayloadFile(file)).toEqual({ a: [1, 2, "é"], b: -1500 });
      expect(decodes).not.toHaveBeenCalled();
      expect(scans).not.toHaveBeenCalled();
    } finally {
      decodes.mockRestore();
      scans.mockRestore();
    }
  });

  test("bytes that are not UTF-8, a number beyond a double: still named to the line", async () => {
    const bad = payloadFile(new Uint8Array([0x5b, 0x31, 0x2c, 0x0a, 0xff, 0x5d]));
    await expect(readPayloadFile(bad)).rejects.toThrow(
      `the payload in ${bad} is not UTF-8 text: line 2`,
    );
    const huge = payloadFile('{"a":\n 1e999}');
    await expect(readPayloadFile(huge)).rejects.toThrow(
      `the payload in ${huge} has a number out of range at line 2, column 2`,
    );
  });
});
